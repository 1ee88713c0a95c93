//! OpenStack provider for gureum: Keystone, Swift, Nova; NHN/KT/Kakao presets (work in progress: no openers are registered yet).
#![warn(missing_docs)]

/// Register this provider's URL openers (none yet).
pub fn register(_registry: &mut gureum_core::Registry) {}
