//! # gureum-local: the embedded defaults
//!
//! Zero-configuration backends that need no cloud account and no server:
//! `mem://` and `file://` storage ([`storage`]), `sqlite://` and `mem://` queues ([`queue`]),
//! and `local://` compute made of supervised local processes ([`compute`]).
#![warn(missing_docs)]

pub mod compute;
pub mod queue;
pub mod storage;

/// Register the local openers: storage `mem`, `file`; queue `mem`, `sqlite`; compute `local`.
pub fn register(registry: &mut gureum_core::Registry) {
    storage::register(registry);
    queue::register(registry);
    compute::register(registry);
}
