//! Nightly batch fleet (야간 일괄 처리): workers from a portable size and image, waited for,
//! then torn down; a report goes to the bucket.
//!
//! ```text
//! cargo run -p gureum-examples --bin nightly_batch
//! ```
//!
//! Compute and storage come from configuration only (`GUREUM_COMPUTE_URL`,
//! `GUREUM_STORAGE_URL` or a `gureum.toml` profile); with none, the embedded `local://`
//! (local processes) and `file://` defaults (temporary unless `GUREUM_DATA_DIR` is set).
//! `BATCH_WORKERS` (default 3), `BATCH_VCPUS` (2), `BATCH_MEMORY_GIB` (4), `BATCH_IMAGE`
//! (`ubuntu-22.04`), `BATCH_TIMEOUT_SECS` (120, per state change).

use gureum_examples::backends::{secs_from_env, Backends};
use gureum_examples::batch::{run_fleet, save_report, FleetPlan};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error[{}]: {}", e.kind(), e.message());
            ExitCode::FAILURE
        }
    }
}

fn num(var: &str, default: u64) -> gureum::Result<u64> {
    match std::env::var(var) {
        Ok(s) => s
            .parse()
            .map_err(|_| gureum::Error::invalid(format!("{var}={s:?} is not a number"))),
        Err(_) => Ok(default),
    }
}

async fn run() -> gureum::Result<()> {
    let run = format!("b{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
    let mut plan = FleetPlan::new(run, num("BATCH_WORKERS", 3)? as usize);
    plan.size =
        gureum::Size::vcpus(num("BATCH_VCPUS", 2)? as u32).memory_gib(num("BATCH_MEMORY_GIB", 4)?);
    if let Ok(i) = std::env::var("BATCH_IMAGE") {
        plan.image = i;
    }
    plan.timeout = secs_from_env("BATCH_TIMEOUT_SECS", 120);
    let backends = Backends::new("nightly-batch")?;
    let compute = backends.compute().await?;
    let bucket = backends.bucket().await?;

    let report = run_fleet(&compute, &plan).await?;
    let key = save_report(&bucket, &report).await?;

    println!("야간 일괄 처리 (nightly batch) — run {}", report.run);
    println!(
        "  compute: {}://; {} workers of {} on {}",
        backends.scheme(gureum::Service::Compute)?,
        plan.workers,
        report.sizes.join(","),
        report.images.join(",")
    );
    println!(
        "  created {}, running {}, listed by tag {}, terminated {}, left over {}",
        report.created, report.running, report.listed_by_tag, report.terminated, report.left_over
    );
    println!(
        "  report: {}:// {key} ({} ms)",
        bucket.info().scheme,
        report.elapsed_ms
    );
    Ok(())
}
