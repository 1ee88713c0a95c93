//! The S3-compatible presets (`nhn-s3://`, `kakao-s3://`) on the Swift all-in-one's s3api,
//! against boto3 (conformance/interop/s3_native.py): the shared key set stored verbatim
//! both ways, foreign keys skipped by listings, metadata exact (RFC 2047 for non-ASCII).
#![cfg(feature = "s3")]

#[path = "../../aws/tests/common/native.rs"]
mod native;

use gureum_core::{Bucket, ErrorKind, PutOptions};
use native::*;
use std::collections::{BTreeMap, BTreeSet};

struct S3api {
    endpoint: String,
    access_key: String,
    secret_key: String,
}

fn s3api() -> Option<S3api> {
    let endpoint = match std::env::var("SWIFT_S3_ENDPOINT") {
        Ok(v) if !v.is_empty() => v,
        _ => {
            assert!(
                std::env::var("GUREUM_REQUIRE_EMULATORS").as_deref() != Ok("1"),
                "SWIFT_S3_ENDPOINT not set and GUREUM_REQUIRE_EMULATORS=1"
            );
            eprintln!("skipping: SWIFT_S3_ENDPOINT not set");
            return None;
        }
    };
    let host = url::Url::parse(&endpoint).unwrap();
    assert!(gureum_core::transport::is_loopback_host(
        host.host_str().unwrap_or("")
    ));
    Some(S3api {
        endpoint,
        access_key: std::env::var("SWIFT_S3_ACCESS_KEY").unwrap_or_else(|_| "test:tester".into()),
        secret_key: std::env::var("SWIFT_S3_SECRET_KEY").unwrap_or_else(|_| "testing".into()),
    })
}

async fn open(scheme: &str, s: &S3api) -> (Bucket, NativeTarget) {
    let name = format!("gis-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    // The same values in every test of this process: setting them twice is harmless.
    std::env::set_var("GIS_S3_ACCESS_KEY", &s.access_key);
    std::env::set_var("GIS_S3_SECRET_KEY", &s.secret_key);
    let url = format!(
        "{scheme}://{name}?endpoint={}&region=us-east-1&access_key_env=GIS_S3_ACCESS_KEY&secret_key_env=GIS_S3_SECRET_KEY",
        s.endpoint
    );
    let mut reg = gureum_core::Registry::new();
    gureum_openstack::register(&mut reg);
    let b = reg.open_bucket(Some(&url)).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let t = NativeTarget {
        endpoint: s.endpoint.clone(),
        access_key: s.access_key.clone(),
        secret_key: s.secret_key.clone(),
        bucket: name,
    };
    (b, t)
}

async fn empty_and_delete(b: &Bucket) {
    for o in b.list_all(None).await.unwrap() {
        b.delete(&o.key).await.unwrap();
    }
    b.admin().unwrap().delete_bucket(b.name()).await.ok();
}

async fn key_set(scheme: &str) {
    let Some(s) = s3api() else { return };
    let ks = keyset();
    let (b, t) = open(scheme, &s).await;
    let meta = ks.metadata.clone();
    let opts = meta
        .iter()
        .fold(PutOptions::default(), |o, (k, v)| o.metadata(k, v));
    for k in &ks.keys {
        b.put_with(k, format!("g {k}").into_bytes(), &opts)
            .await
            .unwrap();
    }
    // Swift's s3api renames `_` metadata names when it completes a multipart upload: the
    // writer refuses them instead. A writer opens lazily: the refusal comes when it starts the
    // multipart upload (more than one part written; small writes are a single PUT).
    let e = async {
        let mut w = b.writer(&ks.big_key, &opts).await?;
        w.write(&pattern(ks.big_bytes)).await?;
        w.finish().await.map(|_| ())
    }
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let big_meta: BTreeMap<String, String> = meta
        .iter()
        .filter(|(k, _)| !k.contains('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let big = pattern(ks.big_bytes);
    let mut w = b
        .writer(
            &ks.big_key,
            &big_meta
                .iter()
                .fold(PutOptions::default(), |o, (k, v)| o.metadata(k, v)),
        )
        .await
        .unwrap();
    for c in big.chunks(1 << 20) {
        w.write(c).await.unwrap();
    }
    w.finish().await.unwrap();
    let mut all: Vec<String> = ks.keys.clone();
    all.push(ks.big_key.clone());
    let mut ops = vec![serde_json::json!({"op": "list"})];
    ops.extend(all.iter().map(|k| key_op("get", k)));
    let Some(r) = boto3(&t, ops) else {
        empty_and_delete(&b).await;
        return;
    };
    let want: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(
        listed(&r[0]).into_iter().collect::<BTreeSet<_>>(),
        want,
        "{scheme}: boto3 sees gureum's keys"
    );
    for (k, g) in all.iter().zip(&r[1..]) {
        let (body, m) = if *k == ks.big_key {
            (big.clone(), &big_meta)
        } else {
            (format!("g {k}").into_bytes(), &meta)
        };
        assert_eq!(g["sha256"].as_str().unwrap(), sha256_hex(&body), "{k}");
        assert_eq!(&meta_of(g, "metadata_decoded"), m, "{k}");
    }
    for k in &all {
        b.delete(k).await.unwrap();
    }
    // boto3 writes, the preset lists, reads, overwrites and deletes by name
    let ops = ks
        .keys
        .iter()
        .map(|k| put_op(k, format!("n {k}").as_bytes(), &meta))
        .collect();
    boto3(&t, ops).unwrap();
    let got: BTreeSet<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(got, ks.keys.iter().cloned().collect::<BTreeSet<_>>());
    for k in &ks.keys {
        assert_eq!(&b.get(k).await.unwrap()[..], format!("n {k}").as_bytes());
        assert_eq!(b.head(k).await.unwrap().metadata, meta, "{k}");
        b.put(k, b"over".to_vec()).await.unwrap();
    }
    let r = boto3(&t, ks.keys.iter().map(|k| key_op("get", k)).collect()).unwrap();
    for g in &r {
        assert_eq!(g["sha256"].as_str().unwrap(), sha256_hex(b"over"));
    }
    empty_and_delete(&b).await;
}

async fn foreign(scheme: &str) {
    let Some(s) = s3api() else { return };
    let (b, t) = open(scheme, &s).await;
    let foreign = ["a//b", "dir/", "./x", "ctl\u{1}x"];
    let none = BTreeMap::new();
    let mut ops: Vec<_> = foreign.iter().map(|k| put_op(k, b"f", &none)).collect();
    ops.push(put_op("dir/민원.txt", b"p", &none));
    if boto3(&t, ops).is_none() {
        empty_and_delete(&b).await;
        return;
    }
    let got: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(got, vec!["dir/민원.txt"], "{scheme}");
    assert_eq!(&b.get("dir/민원.txt").await.unwrap()[..], b"p");
    b.delete("dir/민원.txt").await.unwrap();
    boto3(&t, foreign.iter().map(|k| key_op("delete", k)).collect()).unwrap();
    b.admin().unwrap().delete_bucket(b.name()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nhn_s3_key_set() {
    key_set("nhn-s3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kakao_s3_key_set() {
    key_set("kakao-s3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nhn_s3_foreign_keys() {
    foreign("nhn-s3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kakao_s3_foreign_keys() {
    foreign("kakao-s3").await;
}
