//! # gureum-kafka
//!
//! Kafka-protocol queues for gureum, on [`rdkafka`] (bundled librdkafka):
//!
//! * `kafka://HOST:PORT/TOPIC?group=NAME[&brokers=HOST:PORT,...]` — any Kafka cluster (and tansu).
//! * `ncloud-cdss://BROKER:PORT/TOPIC?group=NAME&tls=true` — Naver Cloud Cloud Data Streaming
//!   Service (managed Kafka in the customer's VPC).
//! * `nhn-easyqueue://REGION-CLUSTER/TOPIC?group=NAME&app_key=APPKEY` — NHN Cloud EasyQueue:
//!   SASL_SSL + OAUTHBEARER with a User Access Key (scope `appKey:{APP_KEY}`), topic and group
//!   names prefixed with `{APP_KEY}.` automatically.
//!
//! Send = produce with `acks=all`; receive = consume in a consumer group; ack = commit, only up
//! to the lowest unacknowledged offset per partition. See [`queue`] and docs/kafka.md.
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod oauth;
pub mod queue;

pub use config::{KafkaConfig, Preset, Security};
pub use oauth::TokenContext;
pub use queue::{open_kafka, KafkaAdmin, KafkaQueue};

use async_trait::async_trait;
use gureum_core::url::{QueueOpener, ResourceUrl};
use gureum_core::{Queue, Result, SchemeInfo, Service, Zone};
use std::sync::Arc;

/// The schemes this crate serves (feature `kafka` of the `gureum` crate).
///
/// ```
/// let kinds: Vec<_> = gureum_kafka::SCHEMES.iter().map(|s| s.scheme).collect();
/// assert!(kinds.contains(&"kafka") && kinds.contains(&"nhn-easyqueue"));
/// ```
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "kafka",
        service: Service::Queue,
        feature: "kafka",
        zone: Zone::OnPrem,
        description: "Kafka topics consumed in a consumer group",
    },
    SchemeInfo {
        scheme: "ncloud-cdss",
        service: Service::Queue,
        feature: "kafka",
        zone: Zone::DomesticCsap,
        description: "Naver Cloud Data Streaming Service (managed Kafka)",
    },
    SchemeInfo {
        scheme: "nhn-easyqueue",
        service: Service::Queue,
        feature: "kafka",
        zone: Zone::DomesticCsap,
        description: "NHN Cloud EasyQueue (Kafka, SASL/OAUTHBEARER)",
    },
];

/// Opener for `kafka://`, `ncloud-cdss://` and `nhn-easyqueue://`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use gureum_core::{ErrorKind, QueueOpener, ResourceUrl};
/// // A URL without a topic is refused before any connection.
/// let e = gureum_kafka::KafkaQueueOpener.open_queue(&ResourceUrl::parse("kafka://127.0.0.1:9092/").unwrap()).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct KafkaQueueOpener;

#[async_trait]
impl QueueOpener for KafkaQueueOpener {
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        open_kafka(KafkaConfig::from_url(url)?).await
    }
}

/// Register this provider's URL openers (see [`SCHEMES`]).
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_kafka::register(&mut registry);
/// assert!(registry.schemes(gureum_core::Service::Queue).contains(&"kafka".to_string()));
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    for s in SCHEMES {
        registry.register_queue(s.scheme, Arc::new(KafkaQueueOpener));
    }
}
