//! Azure provider for gureum: Blob, Queue Storage, Virtual Machines (work in progress: no openers are registered yet).
#![warn(missing_docs)]

/// Register this provider's URL openers (none yet).
pub fn register(_registry: &mut gureum_core::Registry) {}
