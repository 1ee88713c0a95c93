//! S3 provider tests against moto (AWS_ENDPOINT_URL).

mod common;

use common::*;
use futures::TryStreamExt;
use gureum_aws::list_v1::V1ListStore;
use gureum_aws::{open_s3, S3Native, S3Quirks};
use gureum_core::object_store::path::Path;
use gureum_core::object_store::ObjectStore;
use gureum_core::{ErrorKind, ListOptions, PresignMethod, PutOptions, WriteMode};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn objects_admin_presign_tagging() {
    let Some(ep) = moto() else { return };
    let b = fresh_bucket(&ep, "gu-s3").await;
    assert_eq!(b.info().provider, "aws");
    assert!(b.capabilities().presign && b.capabilities().bucket_admin);

    // objects
    b.put("a/b c+d%e.txt", b"hello".to_vec()).await.unwrap();
    assert_eq!(&b.get("a/b c+d%e.txt").await.unwrap()[..], b"hello");
    let opts = PutOptions::default()
        .content_type("text/plain")
        .metadata("city", "seoul")
        .mode(WriteMode::CreateOnly);
    b.put_with("meta.txt", b"m".to_vec(), &opts).await.unwrap();
    let e = b
        .put_with("meta.txt", b"m".to_vec(), &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let info = b.head("meta.txt").await.unwrap();
    assert_eq!(info.content_type.as_deref(), Some("text/plain"));
    assert_eq!(info.metadata.get("city").map(String::as_str), Some("seoul"));
    let e = b.get("missing").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // presigned PUT then GET with a plain HTTP client
    let http = reqwest::Client::new();
    let put = b
        .presign(PresignMethod::Put, "signed/x.bin", Duration::from_secs(60))
        .await
        .unwrap();
    let r = http.put(put).body("via-url").send().await.unwrap();
    assert!(r.status().is_success(), "presigned put: {}", r.status());
    let get = b
        .presign(PresignMethod::Get, "signed/x.bin", Duration::from_secs(60))
        .await
        .unwrap();
    let r = http.get(get).send().await.unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.text().await.unwrap(), "via-url");

    // tagging through the escape hatch
    let native = b.native::<S3Native>().expect("S3Native");
    let mut tags = BTreeMap::new();
    tags.insert("class".to_string(), "internal".to_string());
    native.put_tags("meta.txt", &tags).await.unwrap();
    assert_eq!(native.get_tags("meta.txt").await.unwrap(), tags);

    // admin
    let admin = b.admin().unwrap();
    assert!(admin
        .list_buckets()
        .await
        .unwrap()
        .contains(&b.name().to_string()));
    let e = admin.create_bucket(b.name()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let e = admin.delete_bucket(b.name()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "non-empty: {e}");
    for k in ["a/b c+d%e.txt", "meta.txt", "signed/x.bin"] {
        b.delete(k).await.unwrap();
    }
    admin.delete_bucket(b.name()).await.unwrap();
    let e = admin.delete_bucket(b.name()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.provider_code(), Some("NoSuchBucket"));
    assert!(e.request_id().is_some(), "request id kept: {e:?}");
}

#[tokio::test]
async fn region_constraint_on_create() {
    let Some(ep) = moto() else { return };
    let name = unique("gu-eu");
    let b = open_s3(s3(&ep, &name).region("eu-west-1")).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let native = b.native::<S3Native>().unwrap();
    let loc = native
        .client()
        .get_bucket_location()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        loc.location_constraint().map(|c| c.as_str()),
        Some("eu-west-1")
    );
    b.put("k", b"v".to_vec()).await.unwrap();
    assert_eq!(&b.get("k").await.unwrap()[..], b"v");
    b.delete("k").await.unwrap();
    b.admin().unwrap().delete_bucket(&name).await.unwrap();
}

#[tokio::test]
async fn list_objects_v1_paginates_with_marker() {
    let Some(ep) = moto() else { return };
    let name = unique("gu-v1");
    let cfg = s3(&ep, &name).quirks(S3Quirks::default().list_objects_v1(true));
    let b = open_s3(cfg).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let mut keys = Vec::new();
    for i in 0..7 {
        keys.push(format!("d/{i:02}"));
    }
    keys.push("d/sub/x".into());
    keys.push("d/sub/y".into());
    keys.push("top".into());
    for k in &keys {
        b.put(k, b"1".to_vec()).await.unwrap();
    }
    // through Bucket (V1 store with 1000-key pages)
    let all: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(all.len(), keys.len());
    let page = b
        .list_page(&ListOptions {
            prefix: Some("d/".into()),
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.common_prefixes, vec!["d/sub/".to_string()]);
    assert_eq!(page.objects.len(), 7);

    // small pages exercise the marker loop
    let native = b.native::<S3Native>().unwrap();
    let v1 = V1ListStore::new(
        native.amazon_s3().clone(),
        native.client().clone(),
        name.clone(),
    )
    .with_page_size(3);
    let v1: Arc<dyn ObjectStore> = Arc::new(v1);
    let listed: Vec<String> = v1
        .list(Some(&Path::from("d")))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 9, "{listed:?}");
    let after: Vec<String> = v1
        .list_with_offset(Some(&Path::from("d")), &Path::from("d/04"))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(after, vec!["d/05", "d/06", "d/sub/x", "d/sub/y"]);
    let delim = v1
        .list_with_delimiter(Some(&Path::from("d")))
        .await
        .unwrap();
    assert_eq!(delim.objects.len(), 7);
    assert_eq!(delim.common_prefixes, vec![Path::from("d/sub")]);
    for k in &keys {
        b.delete(k).await.unwrap();
    }
    b.admin().unwrap().delete_bucket(&name).await.unwrap();
}

#[tokio::test]
async fn url_opener_and_registry() {
    let Some(ep) = moto() else { return };
    let name = unique("gu-url");
    let mut reg = gureum_core::Registry::new();
    gureum_aws::register(&mut reg);
    let url = format!("s3://{name}?region=us-east-1&endpoint={ep}");
    let b = reg.open_bucket(Some(&url)).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    b.put("x", b"1".to_vec()).await.unwrap();
    assert_eq!(b.list_all(None).await.unwrap().len(), 1);
    b.delete("x").await.unwrap();
    b.admin().unwrap().delete_bucket(&name).await.unwrap();
    // plaintext to a remote host is refused
    let e = reg
        .open_bucket(Some(
            "s3://b?endpoint=http://s3.example.com&region=us-east-1",
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PolicyViolation);
}
