//! Queue cases, run against a [`Queue`].

use crate::report::Report;
use crate::Options;
use gureum_core::Queue;

/// Run the queue cases against `queue`.
pub async fn run(queue: &Queue, opts: &Options) -> Report {
    let _ = queue;
    Report::new(opts.run_id.clone())
}

/// Names of the queue cases, in run order.
pub fn case_names() -> Vec<&'static str> {
    Vec::new()
}
