//! # gureum-ncloud: NAVER Cloud Platform (public and government regions)
//!
//! * [`server`]: the Server (VPC) API as a gureum compute driver, `ncloud-server://?region=KR`
//!   (government: `region=gov` / `gov2`), signed with the API Gateway HMAC signature
//!   ([`signer`]).
//! * [`storage`]: Object Storage, `ncloud://bucket?region=kr` (government: `gov`, `gov2`), an
//!   S3-compatible preset over `gureum-aws` that lists with ListObjects V1.
//!
//! Credentials come from `NCLOUD_ACCESS_KEY` / `NCLOUD_SECRET_KEY` by default
//! ([`credentials`]). Every backend of this crate sits in the `domestic-csap` placement zone.
#![deny(missing_docs)]

pub mod credentials;
pub mod server;
pub mod signer;
pub mod storage;

use gureum_core::{SchemeInfo, Service, Zone};
use std::sync::Arc;

/// The schemes this crate serves (feature `ncloud` of the `gureum` crate).
///
/// ```
/// let s: Vec<_> = gureum_ncloud::SCHEMES.iter().map(|s| s.scheme).collect();
/// assert_eq!(s, ["ncloud", "ncloud-server"]);
/// ```
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "ncloud",
        service: Service::Storage,
        feature: "ncloud",
        zone: Zone::DomesticCsap,
        description: "NAVER Cloud Object Storage (public and government regions)",
    },
    SchemeInfo {
        scheme: "ncloud-server",
        service: Service::Compute,
        feature: "ncloud",
        zone: Zone::DomesticCsap,
        description: "NAVER Cloud Server (VPC) instances",
    },
];

/// Register this provider's URL openers: storage `ncloud`, compute `ncloud-server` (see
/// [`SCHEMES`]).
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_ncloud::register(&mut registry);
/// assert_eq!(registry.schemes(gureum_core::Service::Compute), ["ncloud-server"]);
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_storage("ncloud", Arc::new(storage::NcloudStorageOpener));
    registry.register_compute("ncloud-server", Arc::new(server::NcloudServerComputeOpener));
}
