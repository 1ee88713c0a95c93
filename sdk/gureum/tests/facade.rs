//! The facade opens every embedded backend by URL and reports unknown schemes helpfully.
#![cfg(feature = "local")]

use gureum::{ErrorKind, Message, Service};
use std::time::Duration;

#[tokio::test]
async fn registry_has_the_embedded_schemes() {
    let r = gureum::registry();
    for (svc, scheme) in [
        (Service::Storage, "mem"),
        (Service::Storage, "file"),
        (Service::Queue, "mem"),
        (Service::Queue, "sqlite"),
        (Service::Compute, "local"),
    ] {
        assert!(
            r.schemes(svc).iter().any(|s| s == scheme),
            "{svc}: {scheme} missing"
        );
    }
}

#[tokio::test]
async fn mem_bucket_round_trip_and_sharing_by_name() {
    let b = gureum::open_bucket("mem://facade-test").await.unwrap();
    b.put("민원/2026/c-1041.json", &b"{}"[..]).await.unwrap();
    let same = gureum::open_bucket("mem://facade-test").await.unwrap();
    assert_eq!(&same.get("민원/2026/c-1041.json").await.unwrap()[..], b"{}");
    assert_eq!(b.info().scheme, "mem");
    let other = gureum::open_bucket("mem://facade-other").await.unwrap();
    assert!(!other.exists("민원/2026/c-1041.json").await.unwrap());
}

#[tokio::test]
async fn file_bucket_keys_are_visible_to_object_store_users() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/bkt", dir.path().display());
    let b = gureum::open_bucket(&url).await.unwrap();
    b.put("a b/c.txt", &b"x"[..]).await.unwrap();
    // Reopened by URL, the object is there.
    let again = gureum::open_bucket(&url).await.unwrap();
    assert_eq!(&again.get("a b/c.txt").await.unwrap()[..], b"x");
    // The raw store sees the same path (the portable encoding).
    let path = gureum::key::encode_key("a b/c.txt").unwrap();
    let raw = b.object_store();
    let got = gureum::object_store::ObjectStoreExt::get(&*raw, &path)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], b"x");
}

#[tokio::test]
async fn queues_open_by_url() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "mem://facade-q".to_string(),
        format!("sqlite://{}/q.db?queue=jobs", dir.path().display()),
    ] {
        let q = gureum::open_queue(&url).await.unwrap();
        q.send(Message::new(&b"reindex c-1041"[..])).await.unwrap();
        let got = q
            .receive_with(gureum::ReceiveOptions {
                max_messages: 10,
                visibility: Duration::from_secs(30),
                wait: Duration::from_secs(2),
            })
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{url}");
        assert_eq!(&got[0].body[..], b"reindex c-1041");
        q.ack(&got[0]).await.unwrap();
        assert_eq!(q.depth().await.unwrap(), 0, "{url}");
    }
}

#[tokio::test]
async fn local_compute_opens_by_url() {
    let dir = tempfile::tempdir().unwrap();
    let c = gureum::open_compute(&format!("local://{}/compute", dir.path().display()))
        .await
        .unwrap();
    assert!(!c.sizes().await.unwrap().is_empty());
    assert!(c
        .images()
        .await
        .unwrap()
        .iter()
        .any(|i| i.alias.as_deref() == Some("ubuntu-22.04")));
}

#[tokio::test]
async fn unknown_or_disabled_schemes_name_the_feature() {
    let e = gureum::open_bucket("gopher://x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("schemes in this build: "), "{e}");
    assert!(e.message().contains("file://"), "{e}");
    #[cfg(not(feature = "aws"))]
    {
        // The provider is known to the facade but not compiled in: the hint names its feature.
        let e = gureum::open_bucket("s3://b").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("not compiled in"), "{e}");
        assert!(e.message().contains("cargo feature \"aws\""), "{e}");
    }
    let e = gureum::open_queue("gopher://x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = gureum::open_compute("no scheme").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}
