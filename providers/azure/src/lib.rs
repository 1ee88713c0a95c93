//! Azure provider for gureum: Blob, Queue Storage, Virtual Machines (work in progress: no openers are registered yet).
#![warn(missing_docs)]
