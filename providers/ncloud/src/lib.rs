//! Naver Cloud provider for gureum: Object Storage and Server API (public and government) (work in progress: no openers are registered yet).
#![warn(missing_docs)]

/// Register this provider's URL openers (none yet).
pub fn register(_registry: &mut gureum_core::Registry) {}
