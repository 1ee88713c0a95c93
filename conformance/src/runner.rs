//! The runner behind `gureum conformance`: opens URLs through a registry, runs the suites,
//! writes the report and computes the exit code.

/// Placeholder; filled in by the next commit.
pub fn placeholder() {}
