//! # gureum-conformance
//!
//! The conformance suite for gureum backends, as a library any crate can run on its own
//! driver, plus the [`runner`] behind `gureum conformance`.
//!
//! ```no_run
//! # async fn demo() {
//! use gureum_conformance::{storage, Options};
//! use std::sync::Arc;
//! let bucket = gureum_core::Bucket::new("demo", Arc::new(object_store::memory::InMemory::new()));
//! let report = storage::run(&bucket, &Options::default()).await;
//! println!("{}", report.to_text());
//! assert_eq!(report.failed(), 0);
//! # }
//! ```
//!
//! Every case has a name `area.case_name` and is either **required** or tied to one or more
//! capability flags ([`gureum_core::StorageCapabilities`], [`gureum_core::QueueCapabilities`],
//! [`gureum_core::ComputeCapabilities`]). A case of an advertised capability that fails is a
//! failure; a case of an unadvertised capability is still attempted and reported
//! [`Status::Unsupported`] — or [`Status::UnexpectedlyWorks`] when it holds anyway.
//!
//! Cases only touch resources of their own run: storage keys under
//! `<prefix>/<run-id>/` (default prefix `gureum-conformance`), queues named
//! `gcf-<run-id>-<n>` created through `QueueAdmin` (or, without admin, the one queue given,
//! which must be dedicated to conformance), and instances tagged
//! `gureum-conformance-run=<run-id>`. Everything is deleted at the end of the run.
#![deny(missing_docs)]

pub mod certify;
pub mod compute;
mod harness;
pub mod html;
#[cfg(feature = "object-store-integration")]
pub mod object_store_integration;
pub mod queue;
pub mod report;
pub mod runner;
pub mod secrets;
pub mod storage;

pub use report::{CaseResult, Format, Report, Requirement, Section, Status};

use gureum_core::Size;
use std::time::Duration;

/// Options of a conformance run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The run id: names the storage prefix, queues and instance tags of this run.
    /// Default: a fresh random id.
    pub run_id: String,
    /// Storage key prefix under which the run prefix `<prefix>/<run-id>/` is made.
    pub prefix: String,
    /// Only run cases matching one of these patterns (comma separated; `*` wildcards;
    /// a pattern without `*` matches as a substring). `None` runs everything.
    pub only: Option<String>,
    /// Multiplies every timeout and waiting period (visibility, long-poll, compute waits).
    /// Use 2–5 for slow clouds.
    pub time_scale: f64,
    /// Upper bound of one storage or queue case (before scaling).
    pub case_timeout: Duration,
    /// Concurrency of bulk operations (e.g. writing the keys of the pagination case).
    pub concurrency: usize,
    /// Keys written for the pagination case (must exceed 1000 to cross a page).
    pub list_keys: usize,
    /// Keys of the page-crossing fixture (`storage.pages_*`). `None`: one more than the
    /// backend's own listing page ([`storage::native_page_size`]: S3 1,000, Azure 5,000,
    /// Swift 10,000), or [`Options::list_keys`] where none is known; `Some(0)` skips them.
    pub page_keys: Option<usize>,
    /// Base visibility timeout used by queue cases (before scaling).
    pub visibility: Duration,
    /// Image alias or id used by compute cases.
    pub image: String,
    /// Size used by compute cases.
    pub size: Size,
    /// Upper bound of one compute state transition (before scaling).
    pub compute_timeout: Duration,
    /// The target account's instance quota, when known and small (≤ 20): opts in to
    /// `compute.quota_exceeded_typed`, which creates up to this many + 1 instances and
    /// expects [`ErrorKind::QuotaExceeded`](gureum_core::ErrorKind::QuotaExceeded).
    /// `None` (default) skips that case.
    pub instance_quota: Option<usize>,
    /// Receives every case result as soon as the case finishes (the runner uses it to report
    /// the finished cases of a run stopped with Ctrl-C).
    pub progress: Option<std::sync::Arc<std::sync::Mutex<Vec<CaseResult>>>>,
    /// What the run is made against (recorded in the report for the certification ladder).
    pub target: Option<certify::Target>,
    /// A label for the backend in reports (default: the scheme / provider reported by the
    /// backend, or the queue name).
    pub backend: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Options {
            run_id: format!("{}-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"), &id[..8]),
            prefix: "gureum-conformance".into(),
            only: None,
            time_scale: 1.0,
            case_timeout: Duration::from_secs(120),
            concurrency: 16,
            list_keys: 1005,
            page_keys: None,
            visibility: Duration::from_secs(1),
            image: "ubuntu-22.04".into(),
            size: Size::vcpus(1).memory_gib(1),
            compute_timeout: Duration::from_secs(600),
            instance_quota: None,
            backend: None,
            target: None,
            progress: None,
        }
    }
}

impl Options {
    /// Set the case filter.
    pub fn only(mut self, pattern: impl Into<String>) -> Self {
        self.only = Some(pattern.into());
        self
    }
    /// Set the backend label.
    pub fn backend(mut self, label: impl Into<String>) -> Self {
        self.backend = Some(label.into());
        self
    }
    /// Set what the run is made against.
    pub fn target(mut self, target: certify::Target) -> Self {
        self.target = Some(target);
        self
    }
    /// Set the time scale.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }
    /// Scale a duration by [`Options::time_scale`].
    pub fn scaled(&self, d: Duration) -> Duration {
        let s = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        // Saturates instead of panicking on a scale that overflows `Duration`.
        Duration::try_from_secs_f64(d.as_secs_f64() * s).unwrap_or(Duration::MAX)
    }
    /// Whether `case` passes the [`Options::only`] filter.
    pub fn selects(&self, case: &str) -> bool {
        match &self.only {
            None => true,
            Some(p) => p
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .any(|p| pattern_matches(p, case)),
        }
    }
}

/// Glob match with `*`; a pattern without `*` matches as a substring.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    if !pattern.contains('*') {
        return name.contains(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    rest.is_empty()
}

/// The list of case names of each area, in run order (for docs and `--only`).
pub fn case_names() -> Vec<&'static str> {
    let mut v = storage::case_names();
    v.extend(queue::case_names());
    v.extend(compute::case_names());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(pattern_matches("storage.*", "storage.key_plus"));
        assert!(pattern_matches("*.key_*", "storage.key_plus"));
        assert!(!pattern_matches("queue.*", "storage.key_plus"));
        assert!(pattern_matches("key_plus", "storage.key_plus"));
        assert!(pattern_matches("storage.*plus", "storage.key_plus"));
        assert!(!pattern_matches("storage.*plu", "storage.key_plus"));
        let o = Options::default().only("queue.*, storage.key_hangul");
        assert!(o.selects("storage.key_hangul"));
        assert!(o.selects("queue.ack"));
        assert!(!o.selects("storage.key_plus"));
    }

    #[test]
    fn case_names_are_unique_and_enough() {
        let names = case_names();
        let mut set = std::collections::BTreeSet::new();
        for n in &names {
            assert!(set.insert(*n), "duplicate case {n}");
        }
        assert!(
            storage::case_names().len() >= 90,
            "{}",
            storage::case_names().len()
        );
    }
}
