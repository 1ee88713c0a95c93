//! Interop with the Azure SDK for Python (`azure-storage-blob`) on Azurite, both directions,
//! with the shared key set (conformance/interop/keyset.json): what gureum writes, the SDK
//! reads under the same name with identical bytes and (mapped) metadata; what the SDK
//! writes, gureum lists, reads, overwrites, copies and deletes by its name.
//!
//! Needs AZURITE_BLOB_STORAGE_URL and AZURE_STORAGE_CONNECTION_STRING (scripts/emulators.sh
//! env) and `pip install azure-storage-blob` (interpreter: GUREUM_PYTHON, default python3).
#[path = "../../../conformance/interop/native_client.rs"]
mod native_client;

use gureum_azure::store::{escape_metadata_name, escape_metadata_value};
use gureum_core::{Bucket, PutOptions, Registry};
use native_client::{gen_bytes, keyset, metadata_of, sha256_hex, skip_or_fail, Native};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

async fn open(container: &str) -> Bucket {
    let mut r = Registry::new();
    gureum_azure::register(&mut r);
    let b = r
        .open_bucket(Some(&format!("azblob://{container}?emulator=true")))
        .await
        .unwrap();
    b.admin().unwrap().create_bucket(container).await.unwrap();
    b
}

fn native(container: &str) -> Option<Native> {
    gureum_testkit::env::azurite("AZURITE_BLOB_STORAGE_URL")?;
    let Some(cs) = std::env::var("AZURE_STORAGE_CONNECTION_STRING")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return skip_or_fail("AZURE_STORAGE_CONNECTION_STRING not set");
    };
    Native::new(
        "azure_native.py",
        "GUREUM_PYTHON",
        "python3",
        json!({"connection_string": cs, "container": container}),
    )
}

fn put_opts(meta: &BTreeMap<String, String>) -> PutOptions {
    let mut o = PutOptions::default().content_type("text/plain; charset=utf-8");
    for (k, v) in meta {
        o = o.metadata(k, v);
    }
    o
}

/// The metadata as stored on Azure (and shown by the Azure SDK).
fn stored(meta: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    meta.iter()
        .map(|(k, v)| (escape_metadata_name(k), escape_metadata_value(v)))
        .collect()
}

#[tokio::test]
async fn gureum_writes_azure_sdk_reads() {
    let c = gureum_testkit::unique("interop-gw");
    let Some(n) = native(&c) else { return };
    let b = open(&c).await;
    let ks = keyset();
    let opts = put_opts(&ks.metadata);
    let mut expected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (i, k) in ks.keys.iter().enumerate() {
        let data = gen_bytes(100 + 7 * i, i as u8);
        b.put_with(k, data.clone(), &opts)
            .await
            .unwrap_or_else(|err| panic!("put {k:?}: {err}"));
        expected.insert(k.clone(), data);
    }
    let big = gen_bytes(ks.big_size, 7);
    let mut w = b.writer(&ks.big_key, &opts).await.unwrap();
    for chunk in big.chunks(1024 * 1024) {
        w.write(chunk).await.unwrap();
    }
    w.finish().await.unwrap();
    expected.insert(ks.big_key.clone(), big);

    let listed = n.ok(json!({"op": "list"}));
    let names: BTreeSet<String> = listed["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, expected.keys().cloned().collect::<BTreeSet<_>>());

    let want_meta = stored(&ks.metadata);
    assert_eq!(
        want_meta["dept__0x2d__name"],
        "%EB%AF%BC%EC%9B%90%EA%B3%BC (%EC%8B%9C%EC%B2%AD)"
    );
    let ops = expected
        .keys()
        .map(|k| json!({"op": "get", "key": k}))
        .collect();
    for ((k, data), r) in expected.iter().zip(n.run(ops)) {
        assert_eq!(r["ok"], json!(true), "SDK get {k:?}: {r}");
        assert_eq!(r["size"], json!(data.len()), "{k:?}");
        assert_eq!(r["sha256"], json!(sha256_hex(data)), "{k:?}");
        assert_eq!(metadata_of(&r), want_meta, "metadata of {k:?}");
        assert_eq!(
            r["content_type"],
            json!("text/plain; charset=utf-8"),
            "{k:?}"
        );
    }
    n.ok(json!({"op": "delete_container"}));
}

#[tokio::test]
async fn azure_sdk_writes_gureum_reads() {
    let c = gureum_testkit::unique("interop-nw");
    let Some(n) = native(&c) else { return };
    let b = open(&c).await;
    let ks = keyset();
    // An SDK user holding gureum's documented mapping (the SDK itself refuses non-ASCII
    // values and `-` in names).
    let native_meta = stored(&ks.metadata);
    let mut expected: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut ops = Vec::new();
    for (i, k) in ks.keys.iter().enumerate() {
        let size = 50 + 3 * i;
        ops.push(
            json!({"op": "put", "key": k, "gen": {"size": size, "seed": i},
            "metadata": native_meta, "content_type": "text/plain"}),
        );
        expected.insert(k.clone(), gen_bytes(size, i as u8));
    }
    ops.push(
        json!({"op": "put", "key": ks.big_key, "gen": {"size": ks.big_size, "seed": 9},
        "metadata": native_meta}),
    );
    expected.insert(ks.big_key.clone(), gen_bytes(ks.big_size, 9));
    for r in n.run(ops) {
        assert_eq!(r["ok"], json!(true), "{r}");
    }

    let listed: BTreeSet<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, expected.keys().cloned().collect::<BTreeSet<_>>());
    for (k, data) in &expected {
        let got = b
            .get(k)
            .await
            .unwrap_or_else(|err| panic!("get {k:?}: {err}"));
        assert!(got[..] == data[..], "bytes of {k:?}");
        let h = b.head(k).await.unwrap();
        assert_eq!(h.metadata, ks.metadata, "metadata of {k:?}");
    }

    let first = &ks.keys[0];
    b.put(first, b"overwritten".to_vec()).await.unwrap();
    let r = n.ok(json!({"op": "get", "key": first}));
    assert_eq!(r["sha256"], json!(sha256_hex(b"overwritten")));
    for k in ks.keys.iter().filter(|k| k.len() < 1000) {
        let to = format!("{k}.copy");
        b.copy(k, &to)
            .await
            .unwrap_or_else(|err| panic!("copy {k:?}: {err}"));
        let r = n.ok(json!({"op": "get", "key": to}));
        let want = if k == first {
            sha256_hex(b"overwritten")
        } else {
            sha256_hex(&expected[k])
        };
        assert_eq!(r["sha256"], json!(want), "copy of {k:?}");
        b.delete(&to).await.unwrap();
    }
    for k in expected.keys() {
        b.delete(k)
            .await
            .unwrap_or_else(|err| panic!("delete {k:?}: {err}"));
    }
    let left = n.ok(json!({"op": "list"}));
    assert_eq!(left["names"], json!([]), "{left}");
    n.ok(json!({"op": "delete_container"}));
}

#[tokio::test]
async fn foreign_names_are_skipped_not_fatal() {
    let c = gureum_testkit::unique("interop-foreign");
    let Some(n) = native(&c) else { return };
    let b = open(&c).await;
    // Names other tools may write outside the portable key space. (Azurite stores a name
    // with U+0001 but then fails its own listing with 500, so the control character here is
    // a tab; `./x` is normalised away by the SDK's HTTP stack.)
    let foreign = ["a//b", "dir/", "/lead", "tab\there"];
    // In listing order (UTF-8 bytes: `p` < `민`).
    let portable = ["ok/plain", "ok/민원 1.txt"];
    let mut ops = Vec::new();
    for k in foreign.iter().chain(portable.iter()) {
        ops.push(json!({"op": "put", "key": k, "data_b64": "eA=="}));
    }
    for (k, r) in foreign.iter().chain(portable.iter()).zip(n.run(ops)) {
        assert_eq!(r["ok"], json!(true), "native put {k:?}: {r}");
    }
    let listed: Vec<String> = b
        .list_all(None)
        .await
        .expect("listing a container with foreign names must not fail")
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, portable.to_vec());
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let raw: Vec<_> = b.object_store().list(None).try_collect().await.unwrap();
    assert_eq!(raw.len(), portable.len());
    let delim = b.object_store().list_with_delimiter(None).await.unwrap();
    let dirs: Vec<&str> = delim.common_prefixes.iter().map(|p| p.as_ref()).collect();
    assert_eq!(dirs, vec!["a", "dir", "ok"]);
    // Exclusive offsets (object_store's own listing returned the offset itself on Azurite).
    let after: Vec<String> = b
        .object_store()
        .list_with_offset(None, &"ok/plain".into())
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(after, vec!["ok/민원 1.txt".to_string()]);
    n.ok(json!({"op": "delete_container"}));
}
