//! OpenStack provider for gureum: Keystone, Swift, Nova; NHN/KT/Kakao presets (work in progress: no openers are registered yet).
#![warn(missing_docs)]
