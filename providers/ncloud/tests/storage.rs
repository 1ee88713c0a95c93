//! The Object Storage preset against real S3 servers (moto, Swift s3api) behind a proxy that
//! refuses ListObjectsV2, so every listing must take the V1 path.

mod common;

use common::{fresh, Upstream};
use futures::StreamExt;
#[allow(unused_imports)]
use gureum_core::object_store::{ObjectStore as _, ObjectStoreExt as _};
use gureum_core::{ErrorKind, Zone};
use std::sync::atomic::Ordering;
use std::time::Duration;

async fn v1_listing_and_multipart(up: Upstream, n_keys: usize) {
    let (proxy, bucket) = fresh(&up, "ncl-v1").await;
    assert_eq!(bucket.info().provider, "ncloud");
    assert_eq!(bucket.info().zone, Zone::DomesticCsap);
    assert!(!bucket.capabilities().presign);

    // More than 1,000 keys cross the 1,000-key page: marker pagination.
    let keys: Vec<String> = (0..n_keys).map(|i| format!("dir/k{i:05}")).collect();
    futures::stream::iter(keys.iter().cloned())
        .map(|k| {
            let b = bucket.clone();
            async move { b.put(&k, b"x".to_vec()).await.map(|_| ()) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    bucket.put("top.txt", b"t".to_vec()).await.unwrap();
    let all = bucket.list_all(Some("dir/")).await.unwrap();
    assert_eq!(all.len(), n_keys);
    let got: Vec<&str> = all.iter().map(|o| o.key.as_str()).collect();
    let mut want: Vec<&str> = keys.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(
        proxy.counters.v1_lists.load(Ordering::Relaxed) >= 1,
        "{:?}",
        proxy.counters
    );
    if n_keys > 1000 {
        assert!(
            proxy.counters.v1_marker_lists.load(Ordering::Relaxed) >= 1,
            "{:?}",
            proxy.counters
        );
    }
    assert_eq!(
        proxy.counters.v2_refused.load(Ordering::Relaxed),
        0,
        "{:?}",
        proxy.counters
    );

    // Incomplete multipart uploads are found and aborted.
    let store = bucket.object_store();
    let path = gureum_core::object_store::path::Path::from("mp/unfinished.bin");
    let mut up_ = store.put_multipart(&path).await.unwrap();
    up_.put_part(vec![7u8; 5 * 1024 * 1024].into())
        .await
        .unwrap();
    drop(up_); // never completed
    let n = gureum_ncloud::storage::abort_incomplete_uploads(&bucket, Duration::ZERO)
        .await
        .unwrap();
    assert!(n >= 1, "aborted {n}");
    assert_eq!(
        gureum_ncloud::storage::abort_incomplete_uploads(&bucket, Duration::ZERO)
            .await
            .unwrap(),
        0
    );

    // Cleanup.
    for k in keys.iter().map(String::as_str).chain(["top.txt"]) {
        bucket.delete(k).await.unwrap();
    }
    bucket
        .admin()
        .unwrap()
        .delete_bucket(bucket.name())
        .await
        .unwrap();
}

/// The proxy really refuses V2: a plain S3 bucket (V2 listing) through it fails to list.
async fn proxy_refuses_v2(up: Upstream) {
    let (proxy, bucket) = fresh(&up, "ncl-v2").await;
    let cfg = gureum_aws::S3Config::new(bucket.name())
        .endpoint(proxy.endpoint.clone())
        .region("us-east-1")
        .path_style(true)
        .quirks(gureum_aws::S3Quirks::default().checksum_when_required(true))
        .credentials(gureum_aws::AwsCredentials::static_keys(
            &up.access_key,
            &up.secret_key,
        ));
    let v2 = gureum_aws::open_s3(cfg).await.unwrap();
    let e = v2.list_all(None).await.unwrap_err();
    assert_ne!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(proxy.counters.v2_refused.load(Ordering::Relaxed) >= 1);
    assert!(bucket.list_all(None).await.unwrap().is_empty());
    bucket
        .admin()
        .unwrap()
        .delete_bucket(bucket.name())
        .await
        .unwrap();
}

#[tokio::test]
async fn moto_v1_listing_and_multipart() {
    let Some(up) = common::moto() else { return };
    v1_listing_and_multipart(up, 1050).await;
}

/// Swift is slow on small machines: fewer keys here; the conformance run crosses the page.
#[tokio::test]
async fn swift_v1_listing_and_multipart() {
    let Some(up) = common::swift() else { return };
    v1_listing_and_multipart(up, 40).await;
}

#[tokio::test]
async fn moto_proxy_refuses_v2() {
    let Some(up) = common::moto() else { return };
    proxy_refuses_v2(up).await;
}

#[tokio::test]
async fn registry_opens_ncloud_urls() {
    let mut reg = gureum_core::Registry::new();
    gureum_ncloud::register(&mut reg);
    assert!(reg
        .schemes(gureum_core::Service::Storage)
        .contains(&"ncloud".to_string()));
    // Missing credentials are reported as Unauthenticated, naming the variables.
    let e = reg
        .open_bucket(Some("ncloud://b?region=gov&access_key_env=GUREUM_NO_SUCH_AK&secret_key_env=GUREUM_NO_SUCH_SK&credentials_file=/nonexistent"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.message().contains("GUREUM_NO_SUCH_AK"), "{e}");
}
