//! object_store's own integration tests (gureum-conformance's runner) against the
//! `ObjectStore` of `ncloud://` buckets, through the proxy that refuses ListObjectsV2 (so
//! every listing is the V1 path), in front of moto and Swift s3api.
//!
//! Not implemented by the service as documented (the store says `NotImplemented`):
//! `put_opts` (no conditional PUT), and the copy-if-not-exists steps of
//! `copy_if_not_exists` / `copy_rename_nonexistent_object` (checked directly below, since
//! object_store's tests assert on the error kind before unwrapping it).

mod common;

use common::{fresh, Upstream};
use gureum_conformance::object_store_integration::{run_with, IntegrationOptions};
use gureum_core::object_store::path::Path;
use gureum_core::object_store::ObjectStoreExt;
use std::sync::atomic::Ordering;

async fn suite(up: Upstream) {
    let (proxy, bucket) = fresh(&up, "ncl-osi").await;
    let store = bucket.object_store();
    let opts = IntegrationOptions {
        expected_not_implemented: vec!["put_opts".to_string()],
        ..Default::default()
    };
    let report = run_with(store.clone(), &opts).await;
    println!("== ncloud → {}\n{report}", up.name);
    let failed: Vec<&str> = report.failures().iter().map(|r| r.name).collect();
    assert_eq!(
        failed,
        ["copy_if_not_exists", "copy_rename_nonexistent_object"],
        "{report}"
    );
    let (a, b) = (Path::from("cine-a"), Path::from("cine-b"));
    store.put(&a, "x".into()).await.unwrap();
    let e = store.copy_if_not_exists(&a, &b).await.unwrap_err();
    assert!(
        matches!(e, gureum_core::object_store::Error::NotImplemented { .. }),
        "copy_if_not_exists says {e:?}"
    );
    store.delete(&a).await.unwrap();
    assert_eq!(proxy.counters.v2_refused.load(Ordering::Relaxed), 0);
    let _ = bucket.admin().unwrap().delete_bucket(bucket.name()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ncloud_on_moto() {
    let Some(up) = common::moto() else { return };
    suite(up).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ncloud_on_swift_s3api() {
    let Some(up) = common::swift() else { return };
    suite(up).await;
}
