//! Conformance suite.
#![warn(missing_docs)]
