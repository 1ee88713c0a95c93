//! In-process simulators of cloud APIs, each a hyper 1 server on `127.0.0.1:0`, written from
//! the provider's published API reference (see each module for what it covers and what it
//! invents). Each stops when its handle is dropped.

pub mod azure;
pub mod kakao_compute;
pub mod kakao_pubsub;
pub mod ncloud;
pub mod openstack;
