//! Benchmarks (placeholder; see docs/benchmarks/azure.md).
fn main() {}
