//! Embedded default backends.
#![warn(missing_docs)]
