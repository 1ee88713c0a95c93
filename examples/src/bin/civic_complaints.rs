//! Civic-complaints intake (민원 접수), end to end.
//!
//! ```text
//! cargo run -p gureum-examples --bin civic_complaints
//! ```
//!
//! Backends come from URLs only: `GUREUM_STORAGE_URL` and `GUREUM_QUEUE_URL` (or a
//! `gureum.toml` profile). With neither set, the embedded defaults serve — `file://` storage
//! and a `sqlite://` queue under `GUREUM_DATA_DIR`, or under a fresh temporary directory
//! (removed at exit) when that is unset too. Exits 0 on success, 1 on failure; bounded by
//! `CIVIC_DEADLINE_SECS` (default 60).

use gureum::Service;
use gureum_examples::civic;
use std::process::ExitCode;
use std::time::Duration;

/// Which URL to open for a service: `None` lets gureum resolve it (env, profile, embedded
/// default under `GUREUM_DATA_DIR`); otherwise the embedded default under `tmp`.
fn url_for(service: Service, tmp: Option<&std::path::Path>) -> Option<String> {
    if std::env::var_os(service.env_var()).is_some() {
        return None;
    }
    let dir = tmp?.display().to_string();
    Some(match service {
        Service::Storage => format!("file://{dir}/storage"),
        Service::Queue => format!("sqlite://{dir}/queue.db?queue=civic-complaints"),
        Service::Compute => format!("local://{dir}/compute"),
    })
}

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
    let tmp = if std::env::var_os("GUREUM_DATA_DIR").is_none() {
        Some(tempfile::tempdir()?)
    } else {
        None
    };
    let deadline = std::env::var("CIVIC_DEADLINE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60u64);
    let reg = gureum::registry();
    let tmp_path = tmp.as_ref().map(|t| t.path());
    let bucket = reg
        .open_bucket(url_for(Service::Storage, tmp_path).as_deref())
        .await?;
    let queue = reg
        .open_queue(url_for(Service::Queue, tmp_path).as_deref())
        .await?;

    let s = civic::run_demo(&bucket, &queue, Duration::from_secs(deadline)).await?;

    println!("민원 접수 (civic complaints) — done in {} ms", s.elapsed_ms);
    println!(
        "  storage: {}:// bucket {:?}; queue: {:?}",
        s.storage_scheme,
        bucket.name(),
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
