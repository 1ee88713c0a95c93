//! Civic-complaints intake (민원 접수), end to end.
//!
//! ```text
//! cargo run -p gureum-examples --bin civic_complaints
//! ```
//!
//! Backends come from configuration only: `GUREUM_STORAGE_URL`, `GUREUM_QUEUE_URL`,
//! `GUREUM_COMPUTE_URL`, or a `gureum.toml` profile (`GUREUM_PROFILE`). With none set, the
//! embedded defaults serve — `file://` storage, a `sqlite://` queue and `local://` compute under
//! `GUREUM_DATA_DIR`, or under a fresh temporary directory (removed at exit) when that is
//! unset too. `CIVIC_OCR_WORKERS` (default 2, 0 for none) OCR worker instances run while the
//! complaints are processed. The bucket holds personal data (class `personal`): the placement
//! policy decides where it may live. Exits 0 on success, 1 on failure; bounded by
//! `CIVIC_DEADLINE_SECS` (default 60).

use gureum::layers::policy::{classify_bucket, Policy};
use gureum_examples::backends::{secs_from_env, Backends};
use gureum_examples::civic;
use std::process::ExitCode;
use std::sync::Arc;

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

async fn run() -> gureum::Result<()> {
    let deadline = secs_from_env("CIVIC_DEADLINE_SECS", 60);
    let workers: usize = std::env::var("CIVIC_OCR_WORKERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let backends = Backends::new("civic-complaints")?;
    // Complaints carry citizens' personal data: the bucket is classified `personal`, so the
    // placement policy (GUREUM_POLICY, the profile's [policy], or the safe default: personal
    // data on-prem only) refuses to write it to a zone the city has not allowed.
    let policy = Arc::new(Policy::load(None)?);
    let bucket = classify_bucket(backends.bucket().await?, policy, Some(civic::DATA_CLASS))?;
    let queue = backends.queue().await?;

    // OCR workers for scanned attachments, on whatever compute is configured.
    let ocr = if workers > 0 {
        let compute = backends.compute().await?;
        let run = format!("ocr-{}", chrono::Utc::now().format("%Y%m%d%H%M%S%3f"));
        let w = civic::start_ocr_workers(&compute, &queue, &run, workers, deadline).await?;
        Some((compute, w))
    } else {
        None
    };

    let result = civic::run_demo(&bucket, &queue, deadline).await;
    // Tear the workers down whatever happened.
    let stopped = match &ocr {
        Some((compute, w)) => Some(civic::stop_ocr_workers(compute, w, deadline).await?),
        None => None,
    };
    let s = result?;

    println!("민원 접수 (civic complaints) — done in {} ms", s.elapsed_ms);
    println!(
        "  storage: {}:// bucket {:?} (data class {}); queue: {:?}",
        s.storage_scheme,
        bucket.name(),
        civic::DATA_CLASS,
        s.queue_name
    );
    println!(
        "  filed {} complaints ({} attachment bytes), processed {}, results read back {}{}",
        s.filed,
        s.attachment_bytes,
        s.processed,
        s.results_read_back,
        if s.earlier_jobs > 0 {
            format!(" (+{} jobs from earlier runs)", s.earlier_jobs)
        } else {
            String::new()
        }
    );
    for (dept, n) in &s.by_department {
        println!("  {dept}: {n}");
    }
    if let (Some((_, w)), Some(stopped)) = (&ocr, stopped) {
        println!(
            "  OCR workers: {} running on {}:// (size {}, image {}), {} terminated",
            w.running,
            backends.scheme(gureum::Service::Compute)?,
            w.size.as_deref().unwrap_or("-"),
            w.image.as_deref().unwrap_or("-"),
            stopped
        );
    }
    println!(
        "  attachments verified: {}",
        if s.all_verified { "yes" } else { "NO" }
    );
    if !s.all_verified {
        return Err(gureum::Error::new(
            gureum::ErrorKind::Integrity,
            "an attachment did not match its recorded size",
        ));
    }
    Ok(())
}
