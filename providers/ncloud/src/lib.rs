//! # gureum-ncloud: NAVER Cloud Platform (public and government regions)
//!
//! * [`server`]: the Server (VPC) API as a gureum compute driver, `ncloud-server://?region=KR`
//!   (government: `region=gov` / `gov2`), signed with the API Gateway HMAC signature
//!   ([`signer`]).
//! * [`sim`] (feature `simulator`): an in-process simulator of the Server API for tests.
//!
//! Credentials come from `NCLOUD_ACCESS_KEY` / `NCLOUD_SECRET_KEY` by default
//! ([`credentials`]). Every backend of this crate sits in the `domestic-csap` placement zone.
#![warn(missing_docs)]

pub mod credentials;
pub mod server;
pub mod signer;
#[cfg(feature = "simulator")]
pub mod sim;

use std::sync::Arc;

/// Register this provider's URL openers: compute `ncloud-server`.
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_compute("ncloud-server", Arc::new(server::ServerOpener));
}
