//! object_store's own integration tests (gureum-conformance's runner) against the
//! `ObjectStore` that `Bucket::object_store()` returns for `s3://`: on moto (ListObjectsV2 and
//! V1 listing) and on OpenStack Swift's s3api (the NHN/Kakao preset quirks).
//!
//! Each test passes, or the backend truly cannot and the store says `NotImplemented`:
//! * Swift s3api: `put_opts` (no conditional PUT); `copy_if_not_exists` and
//!   `copy_rename_nonexistent_object`, whose copy-if-not-exists step the store answers with
//!   `NotImplemented` (checked directly below: object_store's tests assert on the error kind
//!   before unwrapping it, so the runner sees an assertion message there).
//! * moto: `put_get_attributes` passes with its `_` metadata names refused as
//!   `NotImplemented` (moto's server drops such headers), which that test accepts.

mod common;

use common::*;
use gureum_aws::{open_s3, AwsCredentials, S3Config, S3Quirks};
use gureum_conformance::object_store_integration::{run_with, IntegrationOptions};
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{ObjectStore, ObjectStoreExt};
use gureum_core::Bucket;
use std::sync::Arc;

/// Run the suite on the bucket's store; `copy_if_not_exists` says whether the backend has
/// it. The bucket is emptied and deleted afterwards (on Swift s3api that also removes its
/// `+segments` container), so nothing is left on the shared servers.
async fn run(name: &str, bucket: &Bucket, not_implemented: &[&str], cine: bool) {
    let store: Arc<dyn ObjectStore> = bucket.object_store();
    let opts = IntegrationOptions {
        expected_not_implemented: not_implemented.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let report = run_with(store.clone(), &opts).await;
    println!("== {name}\n{report}");
    let failed: Vec<&str> = report.failures().iter().map(|r| r.name).collect();
    if cine {
        assert!(failed.is_empty(), "{name}:\n{report}");
    } else {
        assert_eq!(
            failed,
            ["copy_if_not_exists", "copy_rename_nonexistent_object"],
            "{name}:\n{report}"
        );
        let (a, b) = (Path::from("cine-a"), Path::from("cine-b"));
        store.put(&a, "x".into()).await.unwrap();
        let e = store.copy_if_not_exists(&a, &b).await.unwrap_err();
        assert!(
            matches!(e, gureum_core::object_store::Error::NotImplemented { .. }),
            "{name}: copy_if_not_exists says {e:?}"
        );
        store.delete(&a).await.unwrap();
    }
    let keys: Vec<String> = bucket
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    for r in bucket.delete_many(&keys).await.unwrap() {
        r.unwrap();
    }
    bucket
        .admin()
        .unwrap()
        .delete_bucket(bucket.name())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{name}: delete bucket {} (left behind?): {e}",
                bucket.name()
            )
        });
    assert!(report.unexpectedly_passed().is_empty(), "{name}:\n{report}");
}

async fn fresh(cfg: S3Config) -> gureum_core::Bucket {
    let name = cfg.bucket.clone();
    let b = open_s3(cfg).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_on_moto() {
    let Some(ep) = moto() else { return };
    let b = fresh(s3(&ep, &unique("osi-s3"))).await;
    run("s3 (moto)", &b, &[], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_list_v1_on_moto() {
    let Some(ep) = moto() else { return };
    let b = fresh(s3(&ep, &unique("osi-v1")).quirks(moto_quirks().list_objects_v1(true))).await;
    run("s3 ListObjects V1 (moto)", &b, &[], true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_on_swift_s3api() {
    let ep = match std::env::var("SWIFT_S3_ENDPOINT") {
        Ok(v) if !v.is_empty() => v,
        _ => {
            assert!(
                std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() != Ok("1"),
                "SWIFT_S3_ENDPOINT not set and GUREUM_REQUIRE_EMULATORS=1"
            );
            eprintln!("skipping: SWIFT_S3_ENDPOINT not set");
            return;
        }
    };
    safe_env();
    let ak = std::env::var("SWIFT_S3_ACCESS_KEY").unwrap_or_else(|_| "test:tester".into());
    let sk = std::env::var("SWIFT_S3_SECRET_KEY").unwrap_or_else(|_| "testing".into());
    let cfg = S3Config::new(unique("osi-sw"))
        .endpoint(ep)
        .region("us-east-1")
        .credentials(AwsCredentials::static_keys(ak, sk))
        .quirks(S3Quirks::swift_s3api());
    let b = fresh(cfg).await;
    run("s3 (Swift s3api)", &b, &["put_opts"], false).await;
}
