//! Open-data publisher (공공데이터 개방): anonymised traffic statistics to a public bucket with
//! presigned download links.
//!
//! ```text
//! cargo run -p gureum-examples --bin open_data_publisher
//! ```
//!
//! The public bucket comes from configuration only (`GUREUM_STORAGE_URL` or a `gureum.toml`
//! profile); with none, the embedded `file://` default (temporary unless `GUREUM_DATA_DIR` is
//! set). `OPEN_DATA_DATE` (default yesterday, UTC), `OPEN_DATA_K` (k-anonymity threshold,
//! default 5), `OPEN_DATA_LINK_SECS` (link lifetime, default 86400).

use gureum_examples::backends::{secs_from_env, Backends};
use gureum_examples::open_data;
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

async fn run() -> gureum::Result<()> {
    let date = std::env::var("OPEN_DATA_DATE").unwrap_or_else(|_| {
        (chrono::Utc::now() - chrono::Duration::days(1))
            .format("%Y-%m-%d")
            .to_string()
    });
    let k: u64 = match std::env::var("OPEN_DATA_K") {
        Ok(s) => s
            .parse()
            .map_err(|_| gureum::Error::invalid(format!("OPEN_DATA_K={s:?} is not a number")))?,
        Err(_) => 5,
    };
    let expires = secs_from_env("OPEN_DATA_LINK_SECS", 86_400);
    let backends = Backends::new("open-data")?;
    let bucket = backends.bucket().await?;

    let seed = date
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
    let readings = open_data::sample_readings(seed);
    let stats = open_data::anonymise(&readings, k)?;
    let index = open_data::publish(&bucket, &date, &stats, expires).await?;

    println!("공공데이터 개방 (open data) — traffic statistics for {date}");
    println!(
        "  storage: {}:// bucket {:?}",
        bucket.info().scheme,
        bucket.name()
    );
    println!(
        "  {} readings → {} cells published, {} withheld (k = {k}); no licence plates published",
        readings.len(),
        index.cells,
        index.suppressed_cells
    );
    for f in &index.files {
        println!("  {} ({} bytes)", f.key, f.bytes);
        if let Some(u) = &f.download_url {
            println!("    download: {u}");
        }
    }
    if let Some(note) = &index.links_note {
        println!("  links: {note}");
    } else if let Some(s) = index.links_expire_secs {
        println!("  links: presigned, valid for {s} s");
    }
    println!("  index: traffic/{date}/index.json");
    Ok(())
}
