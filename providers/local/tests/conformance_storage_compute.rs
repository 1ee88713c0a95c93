//! The gureum conformance suite on mem://, file:// and local://.

use gureum_conformance::certify::Target;
use gureum_conformance::{compute, storage, Options};
use gureum_core::Registry;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::register(&mut r);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_mem_storage() {
    let b = registry()
        .open_bucket(Some(&format!(
            "mem://conformance-{}",
            uuid::Uuid::new_v4().simple()
        )))
        .await
        .unwrap();
    let report = storage::run(&b, &embedded("mem:// (local)")).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
}

fn embedded(label: &str) -> Options {
    Options::default().backend(label).target(Target::Embedded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_file_storage() {
    let d = tempfile::tempdir().unwrap();
    let b = registry()
        .open_bucket(Some(&format!("file://{}/bucket", d.path().display())))
        .await
        .unwrap();
    let report = storage::run(&b, &embedded("file:// (local)")).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_local_compute() {
    let d = tempfile::tempdir().unwrap();
    let c = registry()
        .open_compute(Some(&format!("local://{}/compute", d.path().display())))
        .await
        .unwrap();
    let report = compute::run(&c, &embedded("local:// (processes)")).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
    // Nothing is left running.
    assert!(c.list().await.unwrap().is_empty());
}
