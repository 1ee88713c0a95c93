//! The gureum conformance suite against this crate's backends: compute against the
//! in-process Server API simulator; storage through a ListObjectsV2-refusing proxy in front of moto and Swift s3api, so the
//! V1 listing path of the `ncloud://` preset is what gets exercised.

mod common;

use common::{fresh, Upstream};
use gureum_conformance::certify::Target;
use gureum_conformance::{compute, storage, Options};
use gureum_core::url::ComputeOpener;
use gureum_testkit::sim::ncloud::{ServerSimulator, SimOptions};
use std::sync::atomic::Ordering;
use std::time::Duration;

async fn storage_suite(up: Upstream) {
    let (proxy, bucket) = fresh(&up, "ncl-conf").await;
    let opts = Options::default()
        .backend(format!("ncloud (V1-only proxy → {})", up.name))
        .target(Target::Emulator);
    let report = storage::run(&bucket, &opts).await;
    println!("{}", report.to_text());
    // moto drops metadata names with `_` (the store refuses them there): the case moto cannot
    // pass. (Presigning is off in the ncloud preset, so moto's unchecked expiry never shows.)
    let cannot: &[&str] = if up.name == "moto" {
        &["storage.metadata_names_and_values_exact"]
    } else {
        &[]
    };
    assert_eq!(report.failures(), cannot, "failures");
    println!("proxy: {:?}", proxy.counters);
    assert_eq!(proxy.counters.v2_refused.load(Ordering::Relaxed), 0);
    assert!(
        proxy.counters.v1_marker_lists.load(Ordering::Relaxed) >= 1,
        "pagination crossed a V1 page"
    );
    let _ = bucket.admin().unwrap().delete_bucket(bucket.name()).await;
}

#[tokio::test]
async fn storage_conformance_moto() {
    let Some(up) = common::moto() else { return };
    storage_suite(up).await;
}

#[tokio::test]
async fn storage_conformance_swift_s3api() {
    let Some(up) = common::swift() else { return };
    storage_suite(up).await;
}

#[tokio::test]
async fn compute_conformance_simulator() {
    let sim = ServerSimulator::start(SimOptions {
        step: Duration::from_millis(100),
        ..Default::default()
    })
    .await
    .unwrap();
    let c = gureum_ncloud::server::NcloudServerComputeOpener
        .open_compute(&common::sim_url(&sim))
        .await
        .unwrap()
        .with_poll_interval(Duration::from_millis(25));
    let mut opts = Options::default()
        .backend("ncloud-server (simulator)")
        .target(Target::Simulator);
    opts.compute_timeout = Duration::from_secs(30);
    let report = compute::run(&c, &opts).await;
    println!("{}", report.to_text());
    println!("simulator: {:?}", sim.stats());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
    assert_eq!(sim.stats().auth_failures, 0);
    assert_eq!(sim.stats().servers, 0, "the run left servers behind");
}
