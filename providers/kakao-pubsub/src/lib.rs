//! # gureum-kakao-pubsub
//!
//! Kakao Cloud Pub/Sub as a gureum queue: `kakao-pubsub://DOMAIN_ID/PROJECT_ID/NAME`.
//!
//! Kakao Pub/Sub is a proprietary REST/JSON pull-and-acknowledge API (topics, pull
//! subscriptions, an acknowledgement deadline of 10–600 s, gRPC-style error codes) at
//! `https://pub-sub.{region}.kakaocloud.com`, authenticated by the IAM access key pair in the
//! `Credential-ID` / `Credential-Secret` headers. A gureum queue is one topic plus one pull
//! subscription of it: send publishes to the topic, receive pulls from the subscription, ack
//! acknowledges, nack and visibility changes modify the acknowledgement deadline.
//!
//! Which request paths and fields come from Kakao's published reference and which are
//! unconfirmed is listed in [`queue`] and docs/kakao-pubsub.md. Tested against a
//! spec simulator (`gureum_testkit::sim::kakao_pubsub`), not against Kakao Cloud.
#![deny(missing_docs)]

pub mod config;
pub mod queue;

pub use config::KakaoPubSubConfig;
pub use queue::{open_kakao_pubsub, KakaoPubSubAdmin, KakaoPubSubErrors, KakaoPubSubQueue};

use async_trait::async_trait;
use gureum_core::url::{QueueOpener, ResourceUrl};
use gureum_core::{Queue, Result, SchemeInfo, Service, Zone};
use std::sync::Arc;

/// The schemes this crate serves (feature `kakao-pubsub` of the `gureum` crate).
///
/// ```
/// assert_eq!(gureum_kakao_pubsub::SCHEMES[0].scheme, "kakao-pubsub");
/// ```
pub const SCHEMES: &[SchemeInfo] = &[SchemeInfo {
    scheme: "kakao-pubsub",
    service: Service::Queue,
    feature: "kakao-pubsub",
    zone: Zone::DomesticCsap,
    description: "Kakao Cloud Pub/Sub (REST pull subscriptions)",
}];

/// Opener for `kakao-pubsub://`.
///
/// Example: see [`queue::KakaoPubSubQueue`].
#[derive(Debug, Default, Clone, Copy)]
pub struct KakaoPubSubOpener;

#[async_trait]
impl QueueOpener for KakaoPubSubOpener {
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        open_kakao_pubsub(KakaoPubSubConfig::from_url(url)?).await
    }
}

/// Register this provider's URL opener: `kakao-pubsub` (see [`SCHEMES`]).
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_kakao_pubsub::register(&mut registry);
/// assert_eq!(registry.schemes(gureum_core::Service::Queue), ["kakao-pubsub"]);
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_queue("kakao-pubsub", Arc::new(KakaoPubSubOpener));
}
