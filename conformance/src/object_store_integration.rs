//! object_store's own integration tests, run against any `ObjectStore` gureum hands out.
//!
//! The `object_store` crate ships the functions its own backends are tested with
//! (`object_store::integration`, behind its `integration` feature). This module runs them
//! against the store of a [`Bucket::object_store`](gureum_core::Bucket::object_store), so a
//! DataFusion, Polars or delta-rs user gets the behaviour object_store promises. Each test
//! passes, or fails with object_store's `NotImplemented` where the backend truly cannot (the
//! caller lists those; docs/providers.md names them per backend).
//!
//! Enabled by this crate's non-default cargo feature `object-store-integration`.
//!
//! **The tests delete everything they can list in the store** (`delete_fixtures`): give
//! them a fresh, empty bucket (container, directory) of their own.
//!
//! ```no_run
//! # async fn demo() {
//! use gureum_conformance::object_store_integration as osi;
//! let bucket = gureum_core::Bucket::new("t", std::sync::Arc::new(object_store::memory::InMemory::new()));
//! let report = osi::run(bucket.object_store(), &[]).await;
//! report.assert_ok(); // panics with a table of every failure
//! # }
//! ```
//!
//! Not run: `multipart`, `multipart_with_opts`, `multipart_put_part_out_of_order` and
//! `list_paginated`, which need object_store's `MultipartStore` / `PaginatedListStore`
//! traits that an `Arc<dyn ObjectStore>` does not offer.

use futures::FutureExt;
use object_store::integration as it;
use object_store::ObjectStore;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Names of the tests [`run`] runs, in order.
pub const TESTS: &[&str] = &[
    "put_get_delete_list",
    "put_get_attributes",
    "get_opts",
    "put_opts",
    "stream_get",
    "list_uses_directories_correctly",
    "list_with_delimiter",
    "list_with_offset_exclusivity",
    "get_nonexistent_object",
    "rename_and_copy",
    "copy_if_not_exists",
    "copy_rename_nonexistent_object",
    "multipart_race_condition",
    "multipart_out_of_order",
];

/// How to run the tests on one store.
#[derive(Debug, Clone)]
pub struct IntegrationOptions {
    /// Tests expected to fail with `NotImplemented` on this backend (names from [`TESTS`]).
    pub expected_not_implemented: Vec<String>,
    /// `put_opts`' `supports_update`: whether `PutMode::Update` (if-match) is implemented.
    pub supports_update: bool,
    /// `multipart_race_condition`'s `last_writer_wins`: whether the upload completed last
    /// wins (true for every gureum backend but S3-like ones, where the one created last
    /// wins).
    pub last_writer_wins: bool,
    /// Upper bound of one test.
    pub timeout: Duration,
}

impl Default for IntegrationOptions {
    fn default() -> Self {
        IntegrationOptions {
            expected_not_implemented: Vec::new(),
            supports_update: true,
            last_writer_wins: true,
            timeout: Duration::from_secs(300),
        }
    }
}

/// What one test did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestOutcome {
    /// The test passed.
    Passed,
    /// The test failed with object_store's `NotImplemented` (the message is given).
    NotImplemented(String),
    /// The test failed otherwise (the panic message is given).
    Failed(String),
}

/// The outcome of one test.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// Test name (from [`TESTS`]).
    pub name: &'static str,
    /// What happened.
    pub outcome: TestOutcome,
    /// Whether the caller listed it as expected `NotImplemented`.
    pub expected_not_implemented: bool,
}

impl TestResult {
    /// Whether this result is acceptable: a pass, or a `NotImplemented` that was expected.
    pub fn ok(&self) -> bool {
        match self.outcome {
            TestOutcome::Passed => true,
            TestOutcome::NotImplemented(_) => self.expected_not_implemented,
            TestOutcome::Failed(_) => false,
        }
    }
}

/// Results of a run, in the order of [`TESTS`].
#[derive(Debug, Clone, Default)]
pub struct IntegrationReport {
    /// One result per test.
    pub results: Vec<TestResult>,
}

impl IntegrationReport {
    /// Results that are not acceptable (see [`TestResult::ok`]).
    pub fn failures(&self) -> Vec<&TestResult> {
        self.results.iter().filter(|r| !r.ok()).collect()
    }
    /// Names of the tests that failed with `NotImplemented` (expected or not).
    pub fn not_implemented(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, TestOutcome::NotImplemented(_)))
            .map(|r| r.name)
            .collect()
    }
    /// Names of tests listed as expected `NotImplemented` that passed anyway.
    pub fn unexpectedly_passed(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| r.expected_not_implemented && r.outcome == TestOutcome::Passed)
            .map(|r| r.name)
            .collect()
    }
    /// Panic with the whole table if any result is not acceptable.
    pub fn assert_ok(&self) {
        assert!(self.failures().is_empty(), "{self}");
    }
}

impl fmt::Display for IntegrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            let (status, msg) = match &r.outcome {
                TestOutcome::Passed if r.expected_not_implemented => {
                    ("passed (listed as NotImplemented)", "")
                }
                TestOutcome::Passed => ("passed", ""),
                TestOutcome::NotImplemented(m) if r.expected_not_implemented => {
                    ("NotImplemented (expected)", m.as_str())
                }
                TestOutcome::NotImplemented(m) => ("FAILED: NotImplemented", m.as_str()),
                TestOutcome::Failed(m) => ("FAILED", m.as_str()),
            };
            writeln!(f, "{:32} {status} {msg}", r.name)?;
        }
        Ok(())
    }
}

/// Run every test of [`TESTS`] on `store` (which must be empty and dedicated to the run),
/// with `expected_not_implemented` naming the tests the backend cannot do.
pub async fn run(
    store: Arc<dyn ObjectStore>,
    expected_not_implemented: &[&str],
) -> IntegrationReport {
    let opts = IntegrationOptions {
        expected_not_implemented: expected_not_implemented
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ..Default::default()
    };
    run_with(store, &opts).await
}

type TestFn =
    fn(Arc<dyn ObjectStore>, IntegrationOptions) -> Pin<Box<dyn Future<Output = ()> + Send>>;

fn test_fn(name: &str) -> Option<TestFn> {
    Some(match name {
        "put_get_delete_list" => |s, _| Box::pin(async move { it::put_get_delete_list(&*s).await }),
        "put_get_attributes" => |s, _| Box::pin(async move { it::put_get_attributes(&*s).await }),
        "get_opts" => |s, _| Box::pin(async move { it::get_opts(&*s).await }),
        "put_opts" => |s, o| Box::pin(async move { it::put_opts(&*s, o.supports_update).await }),
        "stream_get" => |s, _| Box::pin(async move { it::stream_get(&*s).await }),
        "list_uses_directories_correctly" => {
            |s, _| Box::pin(async move { it::list_uses_directories_correctly(&*s).await })
        }
        "list_with_delimiter" => |s, _| Box::pin(async move { it::list_with_delimiter(&*s).await }),
        "list_with_offset_exclusivity" => {
            |s, _| Box::pin(async move { it::list_with_offset_exclusivity(&*s).await })
        }
        "get_nonexistent_object" => |s, _| {
            Box::pin(async move {
                let e = it::get_nonexistent_object(&*s, None)
                    .await
                    .expect_err("a missing object must not be read");
                assert!(
                    matches!(e, object_store::Error::NotFound { .. }),
                    "a missing object gives NotFound, not {e:?}"
                );
            })
        },
        "rename_and_copy" => |s, _| Box::pin(async move { it::rename_and_copy(&*s).await }),
        "copy_if_not_exists" => |s, _| Box::pin(async move { it::copy_if_not_exists(&*s).await }),
        "copy_rename_nonexistent_object" => {
            |s, _| Box::pin(async move { it::copy_rename_nonexistent_object(&*s).await })
        }
        "multipart_race_condition" => |s, o| {
            Box::pin(async move { it::multipart_race_condition(&*s, o.last_writer_wins).await })
        },
        "multipart_out_of_order" => {
            |s, _| Box::pin(async move { it::multipart_out_of_order(&*s).await })
        }
        _ => return None,
    })
}

/// Run every test of [`TESTS`] on `store` with `opts`. Tests run one after another (they
/// share the store); a panicking test is caught and reported, the rest still run.
pub async fn run_with(store: Arc<dyn ObjectStore>, opts: &IntegrationOptions) -> IntegrationReport {
    let mut report = IntegrationReport::default();
    for &name in TESTS {
        let expected = opts.expected_not_implemented.iter().any(|n| n == name);
        let f = test_fn(name).expect("every name in TESTS has a function");
        // Each test starts from an empty store (some expect one, and earlier tests leave
        // objects behind).
        if let Err(e) = clear(&*store).await {
            tracing::warn!(test = name, error = %e, "could not empty the store before the test");
        }
        let fut = std::panic::AssertUnwindSafe(f(store.clone(), opts.clone())).catch_unwind();
        let outcome = match tokio::time::timeout(opts.timeout, fut).await {
            Err(_) => TestOutcome::Failed(format!("timed out after {:?}", opts.timeout)),
            Ok(Ok(())) => TestOutcome::Passed,
            Ok(Err(panic)) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".to_string());
                if msg.contains("NotImplemented") {
                    TestOutcome::NotImplemented(msg)
                } else {
                    TestOutcome::Failed(msg)
                }
            }
        };
        tracing::info!(test = name, ?outcome, "object_store integration test");
        report.results.push(TestResult {
            name,
            outcome,
            expected_not_implemented: expected,
        });
    }
    report
}

/// Delete every object the store lists (bounded: at most 100 rounds).
async fn clear(store: &dyn ObjectStore) -> object_store::Result<()> {
    use futures::{StreamExt, TryStreamExt};
    for _ in 0..100 {
        let paths: Vec<object_store::path::Path> = store
            .list(None)
            .map_ok(|m| m.location)
            .take(1000)
            .try_collect()
            .await?;
        if paths.is_empty() {
            return Ok(());
        }
        let stream = futures::stream::iter(paths.into_iter().map(Ok)).boxed();
        let _: Vec<_> = store.delete_stream(stream).collect().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_test_has_a_function() {
        for name in TESTS {
            assert!(test_fn(name).is_some(), "{name}");
        }
        assert!(test_fn("nope").is_none());
    }

    #[tokio::test]
    async fn in_memory_passes_everything() {
        let report = run(Arc::new(object_store::memory::InMemory::new()), &[]).await;
        report.assert_ok();
        assert_eq!(report.results.len(), TESTS.len());
    }
}
