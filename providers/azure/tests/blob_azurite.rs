//! Blob storage against Azurite (needs AZURITE_BLOB_STORAGE_URL).

use gureum_core::{ErrorKind, PresignMethod, PutOptions, Registry, WriteMode};
use std::time::Duration;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    r
}

#[tokio::test]
async fn blob_round_trip_admin_presign_conditional() {
    let Some(_) = gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL") else {
        return;
    };
    let name = gureum_testkit::unique("gb");
    let bucket = registry()
        .open_bucket(Some(&format!("azblob://{name}?emulator=true")))
        .await
        .unwrap();
    let admin = bucket.admin().unwrap().clone();
    admin.create_bucket(&name).await.unwrap();
    let e = admin.create_bucket(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(e.provider_code(), Some("ContainerAlreadyExists"));
    assert!(e.request_id().is_some(), "request id kept: {e}");
    assert!(admin.list_buckets().await.unwrap().contains(&name));

    // objects, metadata, content type
    let opts = PutOptions::default()
        .content_type("application/json")
        .metadata("city", "seoul");
    let w = bucket
        .put_with("민원/a b+c.json", b"{}".to_vec(), &opts)
        .await
        .unwrap();
    let info = bucket.head("민원/a b+c.json").await.unwrap();
    assert_eq!(info.size, 2);
    assert_eq!(info.content_type.as_deref(), Some("application/json"));
    assert_eq!(info.metadata.get("city").map(String::as_str), Some("seoul"));
    assert_eq!(&bucket.get("민원/a b+c.json").await.unwrap()[..], b"{}");

    // conditional writes
    let e = bucket
        .put_with(
            "민원/a b+c.json",
            b"x".to_vec(),
            &PutOptions::default().mode(WriteMode::CreateOnly),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let etag = w.etag.clone().unwrap();
    bucket
        .put_with(
            "민원/a b+c.json",
            b"v2".to_vec(),
            &PutOptions::default().mode(WriteMode::IfMatch(etag.clone())),
        )
        .await
        .unwrap();
    let e = bucket
        .put_with(
            "민원/a b+c.json",
            b"v3".to_vec(),
            &PutOptions::default().mode(WriteMode::IfMatch(etag)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}");

    // bounded-memory block upload (3 blocks of 8 MiB would be large; use the writer with small writes)
    let mut wr = bucket
        .writer("big/obj", &PutOptions::default())
        .await
        .unwrap();
    let chunk = vec![7u8; 1024 * 1024];
    for _ in 0..9 {
        wr.write(&chunk).await.unwrap();
    }
    wr.finish().await.unwrap();
    assert_eq!(bucket.head("big/obj").await.unwrap().size, 9 * 1024 * 1024);

    // presigned GET and PUT with a plain HTTP client
    let http = reqwest::Client::new();
    let u = bucket
        .presign(
            PresignMethod::Get,
            "민원/a b+c.json",
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    assert!(u.query().unwrap().contains("sig="));
    let r = http.get(u).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(&r.bytes().await.unwrap()[..], b"v2");
    let u = bucket
        .presign(
            PresignMethod::Put,
            "up/loaded.txt",
            Duration::from_secs(300),
        )
        .await
        .unwrap();
    let r = http
        .put(u)
        .header("x-ms-blob-type", "BlockBlob")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    assert_eq!(&bucket.get("up/loaded.txt").await.unwrap()[..], b"hello");

    // delete: non-empty container refused, then emptied and deleted
    let e = admin.delete_bucket(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    for o in bucket.list_all(None).await.unwrap() {
        bucket.delete(&o.key).await.unwrap();
    }
    admin.delete_bucket(&name).await.unwrap();
    let e = admin.delete_bucket(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn connection_string_and_shared_key_params() {
    let Some(blob) = gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL") else {
        return;
    };
    let name = gureum_testkit::unique("gcs");
    // Explicit account + endpoint + key (Shared Key), path-style endpoint.
    let url = format!(
        "azblob://{name}?account=devstoreaccount1&endpoint={}/devstoreaccount1&access_key={}&create=true",
        blob.trim_end_matches('/'),
        urlencode(gureum_azure::auth::EMULATOR_ACCOUNT_KEY)
    );
    let b = registry().open_bucket(Some(&url)).await.unwrap();
    b.put("k", b"v".to_vec()).await.unwrap();
    // Wrong key: Azure answers 403 AuthenticationFailed (-> Unauthenticated); Azurite 3.35
    // answers 403 AuthorizationFailure (-> PermissionDenied) with the same message.
    let bad = format!(
        "azblob://{name}?account=devstoreaccount1&endpoint={}/devstoreaccount1&access_key={}",
        blob.trim_end_matches('/'),
        urlencode("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    );
    let b2 = registry().open_bucket(Some(&bad)).await.unwrap();
    let e = b2.admin().unwrap().list_buckets().await.unwrap_err();
    assert!(
        matches!(
            e.kind(),
            ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
        ),
        "{e}"
    );
    assert!(e.request_id().is_some(), "{e}");
    assert!(
        !e.to_string().contains("AAAAAAAA"),
        "no secret in errors: {e}"
    );
    // Connection string given as a parameter (same form as AZURE_STORAGE_CONNECTION_STRING)
    let cs = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={};BlobEndpoint={}/devstoreaccount1;",
        gureum_azure::auth::EMULATOR_ACCOUNT_KEY,
        blob.trim_end_matches('/')
    );
    let b3 = registry()
        .open_bucket(Some(&format!(
            "azblob://{name}?connection_string={}",
            urlencode(&cs)
        )))
        .await
        .unwrap();
    assert_eq!(&b3.get("k").await.unwrap()[..], b"v");
    b3.delete("k").await.unwrap();
    b3.admin().unwrap().delete_bucket(&name).await.unwrap();
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
