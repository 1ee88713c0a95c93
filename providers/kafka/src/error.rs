//! rdkafka errors → portable [`gureum_core::Error`] kinds.

use gureum_core::{Error, ErrorKind};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode as C;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
        // librdkafka's `_SSL`: handshake failed (certificate not trusted, wrong host name).
        C::SSL => ErrorKind::Tls,
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

/// How long a seen TLS failure explains later transport failures and timeouts.
const TLS_WINDOW: Duration = Duration::from_secs(120);

/// The last TLS failure the clients of one queue or admin saw.
///
/// librdkafka reports a failed TLS handshake (broker certificate from an unknown CA, wrong host
/// name) as an error *event* with the code `_SSL`, while the call that needed the connection
/// fails later with a transport error or a timeout. The clients' contexts record the event
/// here, and [`TlsWatch::classify`] turns such a later failure into [`ErrorKind::Tls`] with
/// librdkafka's reason (broker address and the OpenSSL verdict: no configuration values, so
/// no secrets).
#[derive(Debug, Default)]
pub(crate) struct TlsWatch(Mutex<Option<(Instant, String)>>);

impl TlsWatch {
    /// Record `code` / `reason` of an error event when it is a TLS failure: librdkafka's
    /// `_SSL` (the handshake failed on this side: certificate not trusted, wrong name), or a
    /// transport failure raised by OpenSSL (`...:SSL routines::...`, e.g. the broker's
    /// `certificate required` alert when mutual TLS is expected and no client certificate was
    /// sent: with TLS 1.3 that alert arrives after the handshake).
    pub(crate) fn observe(&self, code: Option<C>, reason: &str) {
        let tls = match code {
            Some(C::SSL) => true,
            Some(C::BrokerTransportFailure) => reason.contains(":SSL routines::"),
            _ => false,
        };
        if tls {
            *self.0.lock().unwrap_or_else(|p| p.into_inner()) =
                Some((Instant::now(), reason.to_string()));
        }
    }

    /// The reason of a TLS failure seen within the last two minutes.
    pub(crate) fn recent(&self) -> Option<String> {
        match &*self.0.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((at, reason)) if at.elapsed() <= TLS_WINDOW => Some(reason.clone()),
            _ => None,
        }
    }

    /// `err` as an [`ErrorKind::Tls`] error when it is a transport failure, a timeout or
    /// unclassified and a TLS handshake failed recently; unchanged otherwise.
    pub(crate) fn classify(&self, err: Error) -> Error {
        if !matches!(
            err.kind(),
            ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::Other
        ) {
            return err;
        }
        let Some(reason) = self.recent() else {
            return err;
        };
        let mut e = Error::new(
            ErrorKind::Tls,
            format!("{} (TLS with the broker failed: {reason})", err.message()),
        );
        if let Some(c) = err.provider_code() {
            e = e.with_provider_code(c.to_string());
        }
        e
    }
}

/// Hand the error events waiting on `client`'s main queue to `watch`, and drop them and
/// the log events queued there. The admin client's main queue is polled by nobody else
/// (rdkafka's admin thread polls only its own result queue), so this is where an admin call
/// learns why its broker connection failed.
pub(crate) fn drain_main_queue<X: rdkafka::ClientContext>(
    client: &rdkafka::client::Client<X>,
    watch: &TlsWatch,
) {
    use rdkafka::bindings as rd;
    // SAFETY: `client` is alive for the whole call; the queue handle from
    // `rd_kafka_queue_get_main` and every event taken from it are released here (each exactly
    // once), and the error string is copied before its event is destroyed.
    unsafe {
        let q = rd::rd_kafka_queue_get_main(client.native_ptr());
        if q.is_null() {
            return;
        }
        // Bounded: what is queued now, at most 10,000 events.
        for _ in 0..10_000 {
            let ev = rd::rd_kafka_queue_poll(q, 0);
            if ev.is_null() {
                break;
            }
            if rd::rd_kafka_event_type(ev) == rd::RD_KAFKA_EVENT_ERROR {
                let code = C::from(rd::rd_kafka_event_error(ev));
                let s = rd::rd_kafka_event_error_string(ev);
                let reason = if s.is_null() {
                    String::new()
                } else {
                    std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned()
                };
                tracing::debug!(error = ?code, reason, "librdkafka error event (admin client)");
                watch.observe(Some(code), &reason);
            }
            rd::rd_kafka_event_destroy(ev);
        }
        rd::rd_kafka_queue_destroy(q);
    }
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
        assert_eq!(code_kind(C::SSL), ErrorKind::Tls);
    }

    #[test]
    fn tls_watch_classifies_transport_failures_after_a_handshake_failure() {
        let w = TlsWatch::default();
        let down = || {
            map(
                "metadata",
                KafkaError::MetadataFetch(C::BrokerTransportFailure),
            )
        };
        assert_eq!(w.classify(down()).kind(), ErrorKind::Unavailable);
        // Other error events do not count.
        w.observe(Some(C::AllBrokersDown), "1/1 brokers are down");
        assert_eq!(w.classify(down()).kind(), ErrorKind::Unavailable);
        w.observe(
            Some(C::SSL),
            "ssl://localhost:9093/bootstrap: SSL handshake failed: certificate verify failed",
        );
        let e = w.classify(down());
        assert_eq!(e.kind(), ErrorKind::Tls);
        assert!(e.to_string().contains("certificate verify failed"), "{e}");
        assert_eq!(e.provider_code(), Some("BrokerTransportFailure"));
        // OpenSSL's alerts arrive as transport failures (mutual TLS without a certificate).
        let w = TlsWatch::default();
        w.observe(
            Some(C::BrokerTransportFailure),
            "ssl://localhost:9093/bootstrap: Connection refused",
        );
        assert_eq!(w.classify(down()).kind(), ErrorKind::Unavailable);
        w.observe(
            Some(C::BrokerTransportFailure),
            "ssl://localhost:9093/bootstrap: Receive failed: error:0A00045C:SSL routines::\
             tlsv13 alert certificate required: SSL alert number 116",
        );
        assert_eq!(w.classify(down()).kind(), ErrorKind::Tls);
        // A typed error of another kind stays what it is.
        let nf = map_code("create topic t", C::TopicAlreadyExists);
        assert_eq!(w.classify(nf).kind(), ErrorKind::AlreadyExists);
    }
}
