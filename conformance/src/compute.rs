//! Compute cases, run against a [`Compute`].

use crate::report::Report;
use crate::Options;
use gureum_core::Compute;

/// Run the compute cases against `compute`.
pub async fn run(compute: &Compute, opts: &Options) -> Report {
    let _ = compute;
    Report::new(opts.run_id.clone())
}

/// Names of the compute cases, in run order.
pub fn case_names() -> Vec<&'static str> {
    Vec::new()
}
