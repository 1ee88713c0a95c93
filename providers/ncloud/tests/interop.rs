//! `ncloud://` interop with boto3 (conformance/interop/s3_native.py): gureum goes through the
//! proxy that refuses ListObjectsV2 (so every listing is the V1 path), boto3 talks to the
//! server directly. Keys stored verbatim both ways, foreign keys skipped, metadata exact.

mod common;
#[path = "../../aws/tests/common/native.rs"]
mod native;

use common::*;
use gureum_aws::open_s3;
use gureum_core::{Bucket, ErrorKind, PutOptions};
use gureum_testkit::proxy::V1OnlyProxy;
use gureum_testkit::unique;
use native::*;
use std::collections::{BTreeMap, BTreeSet};

/// Open a fresh `ncloud://` bucket through a V1-only proxy, with the metadata quirks of the
/// server behind it (moto drops `_` header names; Swift renames them on multipart).
async fn open(up: &Upstream, prefix: &str) -> (V1OnlyProxy, Bucket, NativeTarget) {
    let proxy = V1OnlyProxy::start(&up.endpoint).await;
    let name = unique(prefix);
    let mut cfg = gureum_ncloud::storage::config_from_url(&ncloud_url(&name, &proxy, up)).unwrap();
    cfg.quirks = match up.name {
        "moto" => cfg
            .quirks
            .metadata_underscore(false)
            .metadata_underscore_multipart(false),
        _ => cfg
            .quirks
            .metadata_underscore_multipart(false)
            .max_metadata_value_bytes(Some(256)),
    };
    let b = open_s3(cfg).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let t = NativeTarget {
        endpoint: up.endpoint.clone(),
        access_key: up.access_key.clone(),
        secret_key: up.secret_key.clone(),
        bucket: name,
    };
    (proxy, b, t)
}

async fn empty_and_delete(b: &Bucket) {
    for o in b.list_all(None).await.unwrap() {
        b.delete(&o.key).await.unwrap();
    }
    b.admin().unwrap().delete_bucket(b.name()).await.ok();
}

async fn key_set_both_ways(up: Upstream) {
    let ks = keyset();
    let (proxy, b, t) = open(&up, "gni").await;
    let meta: BTreeMap<String, String> = ks
        .metadata
        .iter()
        .filter(|(k, _)| up.name != "moto" || !k.contains('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let opts = meta
        .iter()
        .fold(PutOptions::default(), |o, (k, v)| o.metadata(k, v));
    // gureum writes, boto3 reads
    for k in &ks.keys {
        b.put_with(k, format!("g {k}").into_bytes(), &opts)
            .await
            .unwrap();
    }
    let mut ops = vec![serde_json::json!({"op": "list_v1"})];
    ops.extend(ks.keys.iter().map(|k| key_op("get", k)));
    let Some(r) = boto3(&t, ops) else {
        empty_and_delete(&b).await;
        return;
    };
    let want: BTreeSet<String> = ks.keys.iter().cloned().collect();
    let got: BTreeSet<String> = listed(&r[0]).into_iter().collect();
    assert_eq!(got, want, "{}: boto3 sees gureum's keys", up.name);
    for (k, g) in ks.keys.iter().zip(&r[1..]) {
        assert_eq!(
            g["sha256"].as_str().unwrap(),
            sha256_hex(format!("g {k}").as_bytes())
        );
        assert_eq!(meta_of(g, "metadata_decoded"), meta, "{k}");
    }
    for k in &ks.keys {
        b.delete(k).await.unwrap();
    }
    // boto3 writes, gureum lists (V1 through the proxy), reads, copies and deletes
    let mut ops: Vec<_> = ks
        .keys
        .iter()
        .map(|k| put_op(k, format!("n {k}").as_bytes(), &meta))
        .collect();
    ops.push(put_pattern_op(&ks.big_key, ks.big_bytes));
    boto3(&t, ops).unwrap();
    let mut want = want;
    want.insert(ks.big_key.clone());
    let got: BTreeSet<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(got, want, "{}: gureum lists boto3's keys", up.name);
    for k in &ks.keys {
        assert_eq!(&b.get(k).await.unwrap()[..], format!("n {k}").as_bytes());
        assert_eq!(b.head(k).await.unwrap().metadata, meta, "{k}");
    }
    let big = b.get(&ks.big_key).await.unwrap();
    assert_eq!(sha256_hex(&big), sha256_hex(&pattern(ks.big_bytes)));
    let short: Vec<&String> = ks.keys.iter().filter(|k| k.len() < 1000).collect();
    for k in &short {
        b.copy(k, &format!("copy/{k}")).await.unwrap();
    }
    let r = boto3(
        &t,
        short
            .iter()
            .map(|k| key_op("get", &format!("copy/{k}")))
            .collect(),
    )
    .unwrap();
    for (k, g) in short.iter().zip(&r) {
        assert_eq!(
            g["sha256"].as_str().unwrap(),
            sha256_hex(format!("n {k}").as_bytes())
        );
    }
    assert!(
        proxy
            .counters
            .v1_lists
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "listing went through V1"
    );
    empty_and_delete(&b).await;
}

async fn foreign_keys_skipped(up: Upstream) {
    let (_proxy, b, t) = open(&up, "gnf").await;
    let foreign = ["a//b", "dir/", "./x", "ctl\u{1}x", "/lead"];
    let portable = ["dir/inside.txt", "ok/민원 1.txt"];
    let none = BTreeMap::new();
    let ops = foreign
        .iter()
        .chain(portable.iter())
        .map(|k| put_op(k, k.as_bytes(), &none))
        .collect();
    if boto3(&t, ops).is_none() {
        empty_and_delete(&b).await;
        return;
    }
    let got: BTreeSet<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    let want: BTreeSet<String> = portable.iter().map(|s| s.to_string()).collect();
    assert_eq!(got, want, "{}", up.name);
    let (_, skipped) = b.list_all_counted(None).await.unwrap();
    assert_eq!(skipped, foreign.len() as u64, "{}", up.name);
    for k in portable {
        assert_eq!(&b.get(k).await.unwrap()[..], k.as_bytes());
        b.delete(k).await.unwrap();
    }
    boto3(&t, foreign.iter().map(|k| key_op("delete", k)).collect()).unwrap();
    b.admin().unwrap().delete_bucket(b.name()).await.unwrap();
}

async fn metadata_names(up: Upstream) {
    let (_proxy, b, _t) = open(&up, "gnm").await;
    let e = b
        .put_with(
            "m",
            b"m".to_vec(),
            &PutOptions::default().metadata("a b", "v"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let v = "민원과 (시청) ☁️";
    b.put_with(
        "m",
        b"m".to_vec(),
        &PutOptions::default().metadata("dept-name", v),
    )
    .await
    .unwrap();
    assert_eq!(b.head("m").await.unwrap().metadata["dept-name"], v);
    empty_and_delete(&b).await;
}

macro_rules! on_servers {
    ($($(#[$attr:meta])* $name:ident => $body:expr;)*) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn moto() {
                let Some(up) = common::moto() else { return };
                ($body)(up).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn swift_s3api() {
                let Some(up) = common::swift() else { return };
                ($body)(up).await;
            }
        }
    )*};
}

on_servers! {
    key_set => key_set_both_ways;
    foreign => foreign_keys_skipped;
    metadata => metadata_names;
}
