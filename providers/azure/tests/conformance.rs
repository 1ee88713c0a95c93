//! The gureum conformance suite against Azurite (storage, queue) and the in-process ARM
//! simulator (compute).

use gureum_conformance::certify::Target;
use gureum_conformance::Options;
use gureum_core::Registry;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_conformance_on_azurite() {
    let Some(_) = gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL") else {
        return;
    };
    let name = gureum_testkit::unique("gcf");
    let bucket = registry()
        .open_bucket(Some(&format!("azblob://{name}?emulator=true&create=true")))
        .await
        .unwrap();
    let report = gureum_conformance::storage::run(
        &bucket,
        &Options::default()
            .backend("azblob (Azurite)")
            .target(Target::Emulator),
    )
    .await;
    println!("{}", report.to_text());
    // clean up the container (best effort)
    for o in bucket.list_all(None).await.unwrap_or_default() {
        let _ = bucket.delete(&o.key).await;
    }
    let _ = bucket.admin().unwrap().delete_bucket(&name).await;
    // Known emulator limit (2026-11-27): Azurite answers the Blob Batch deletes of the
    // 5,001-key page fixture slower than the 30 s request timeout on a loaded 2-core machine,
    // so `storage.pages_delete_many_bulk` can fail there. Tolerated (the committed results
    // show it) until the case is re-measured on an idle machine.
    let other: Vec<&str> = report
        .failures()
        .into_iter()
        .filter(|n| *n != "storage.pages_delete_many_bulk")
        .collect();
    assert!(other.is_empty(), "failures: {other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_conformance_on_azurite() {
    let Some(_) = gureum_testkit::env::azurite("AZURITE_QUEUE_STORAGE_URL") else {
        return;
    };
    let name = gureum_testkit::unique("gcq");
    let queue = registry()
        .open_queue(Some(&format!("azqueue://{name}?emulator=true&create=true")))
        .await
        .unwrap();
    let report = gureum_conformance::queue::run(
        &queue,
        &Options::default()
            .backend("azqueue (Azurite)")
            .target(Target::Emulator),
    )
    .await;
    println!("{}", report.to_text());
    let _ = queue.admin().unwrap().delete_queue(&name).await;
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compute_conformance_on_arm_simulator() {
    let sim = gureum_testkit::sim::azure::ArmSimulator::start(Default::default())
        .await
        .unwrap();
    let compute = registry()
        .open_compute(Some(&sim.compute_url()))
        .await
        .unwrap();
    let report = gureum_conformance::compute::run(
        &compute,
        &Options::default()
            .backend("azvm (ARM simulator)")
            .target(Target::Simulator),
    )
    .await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
}
