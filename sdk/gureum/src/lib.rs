//! gureum facade.
#![warn(missing_docs)]
pub use gureum_core::*;
