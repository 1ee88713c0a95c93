//! queue (work in progress).

/// Register openers of this module.
pub fn register(_registry: &mut gureum_core::Registry) {}
