//! # gureum-local: the embedded defaults
//!
//! Zero-configuration backends that need no cloud account and no server:
//! `mem://` and `file://` storage ([`storage`]), `sqlite://` and `mem://` queues ([`queue`]),
//! and `local://` compute made of supervised local processes ([`compute`]).
#![deny(missing_docs)]

pub mod compute;
pub mod queue;
pub mod storage;

use gureum_core::{SchemeInfo, Service, Zone};

/// The schemes this crate serves (feature `local` of the `gureum` crate).
///
/// ```
/// use gureum_core::Service;
/// let schemes: Vec<_> = gureum_local::SCHEMES.iter().filter(|s| s.service == Service::Queue).map(|s| s.scheme).collect();
/// assert_eq!(schemes, ["mem", "sqlite"]);
/// ```
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "mem",
        service: Service::Storage,
        feature: "local",
        zone: Zone::OnPrem,
        description: "in-memory bucket of this process",
    },
    SchemeInfo {
        scheme: "file",
        service: Service::Storage,
        feature: "local",
        zone: Zone::OnPrem,
        description: "a directory on this host",
    },
    SchemeInfo {
        scheme: "mem",
        service: Service::Queue,
        feature: "local",
        zone: Zone::OnPrem,
        description: "in-memory queue of this process",
    },
    SchemeInfo {
        scheme: "sqlite",
        service: Service::Queue,
        feature: "local",
        zone: Zone::OnPrem,
        description: "durable queue in a SQLite file",
    },
    SchemeInfo {
        scheme: "local",
        service: Service::Compute,
        feature: "local",
        zone: Zone::OnPrem,
        description: "supervised processes on this host",
    },
];

/// Register the local openers: storage `mem`, `file`; queue `mem`, `sqlite`; compute `local`
/// (see [`SCHEMES`]).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let mut registry = gureum_core::Registry::new();
/// gureum_local::register(&mut registry);
/// let bucket = registry.open_bucket(Some("mem://local-register")).await?;
/// bucket.put("x", b"1".to_vec()).await?;
/// let queue = registry.open_queue(Some("mem://local-register")).await?;
/// assert_eq!(queue.depth().await?, 0);
/// # Ok(()) }
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    storage::register(registry);
    queue::register(registry);
    compute::register(registry);
}
