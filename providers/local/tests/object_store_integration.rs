//! object_store's own integration tests on the stores that mem:// and file:// hand out
//! (`Bucket::object_store()`), through gureum-conformance's reusable runner.

use gureum_conformance::object_store_integration as osi;
use gureum_core::Registry;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::storage::register(&mut r);
    r
}

#[tokio::test]
async fn mem_store_passes_object_store_integration() {
    let b = registry()
        .open_bucket(Some(&format!(
            "mem://osi-{}",
            uuid::Uuid::new_v4().simple()
        )))
        .await
        .unwrap();
    let report = osi::run(b.object_store(), &[]).await;
    println!("mem://\n{report}");
    report.assert_ok();
    assert!(report.not_implemented().is_empty());
}

#[tokio::test]
async fn file_store_passes_object_store_integration() {
    let d = tempfile::tempdir().unwrap();
    let b = registry()
        .open_bucket(Some(&format!("file://{}", d.path().join("osi").display())))
        .await
        .unwrap();
    let report = osi::run(b.object_store(), &[]).await;
    println!("file://\n{report}");
    report.assert_ok();
    assert!(report.not_implemented().is_empty());
}
