//! # gureum-amqp
//!
//! AMQP 0-9-1 queues (RabbitMQ in the city data center, Naver Cloud's managed RabbitMQ) for
//! gureum, on [`lapin`]:
//!
//! * `amqp://user@host:5672/vhost?queue=NAME` and `amqps://…&ca=/path/ca.pem` (TLS with a
//!   private CA). The password comes from the URL or the environment (`password_env=VAR`,
//!   default `AMQP_PASSWORD`); it never appears in messages or `Debug` output.
//! * Publisher confirms, manual acknowledgements, prefetch = receive batch, quorum queues with
//!   `x-delivery-limit` + dead-letter exchange, delayed redelivery through wait queues, a
//!   client-kept visibility timeout, reconnect with back-off. See [`queue`] and docs/amqp.md.
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod queue;

pub use config::AmqpConfig;
pub use queue::{open_amqp, AmqpAdmin, AmqpQueue};

use async_trait::async_trait;
use gureum_core::url::{QueueOpener, ResourceUrl};
use gureum_core::{Queue, Result, SchemeInfo, Service, Zone};
use std::sync::Arc;

/// The schemes this crate serves (feature `amqp` of the `gureum` crate).
///
/// ```
/// let schemes: Vec<_> = gureum_amqp::SCHEMES.iter().map(|s| s.scheme).collect();
/// assert_eq!(schemes, ["amqp", "amqps"]);
/// ```
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "amqp",
        service: Service::Queue,
        feature: "amqp",
        zone: Zone::OnPrem,
        description: "AMQP 0-9-1 queues (RabbitMQ)",
    },
    SchemeInfo {
        scheme: "amqps",
        service: Service::Queue,
        feature: "amqp",
        zone: Zone::OnPrem,
        description: "AMQP 0-9-1 queues over TLS (RabbitMQ)",
    },
];

/// Opener for `amqp://` and `amqps://`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use gureum_core::{ErrorKind, QueueOpener, ResourceUrl};
/// // A URL without `queue=` is refused before any connection.
/// let e = gureum_amqp::AmqpQueueOpener.open_queue(&ResourceUrl::parse("amqp://127.0.0.1/%2f").unwrap()).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct AmqpQueueOpener;

#[async_trait]
impl QueueOpener for AmqpQueueOpener {
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        open_amqp(AmqpConfig::from_url(url)?).await
    }
}

/// Register this provider's URL openers: `amqp`, `amqps` (see [`SCHEMES`]).
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_amqp::register(&mut registry);
/// assert_eq!(registry.schemes(gureum_core::Service::Queue), ["amqp", "amqps"]);
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_queue("amqp", Arc::new(AmqpQueueOpener));
    registry.register_queue("amqps", Arc::new(AmqpQueueOpener));
}
