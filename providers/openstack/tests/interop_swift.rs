//! Interop with python-swiftclient on the Swift all-in-one, both directions, with the shared
//! key set (conformance/interop/keyset.json): what gureum writes, swiftclient reads under the
//! same name with identical bytes and metadata; what swiftclient writes, gureum lists, reads,
//! overwrites, copies and deletes by its name.
//!
//! Needs SWIFT_AUTH_URL/SWIFT_USER/SWIFT_KEY (scripts/emulators.sh env) and Debian's
//! python3-swiftclient (interpreter: GUREUM_SWIFT_PYTHON, default /usr/bin/python3).

#[path = "../../../conformance/interop/native_client.rs"]
mod native_client;

use gureum_core::storage::PutOptions;
use gureum_core::url::ResourceUrl;
use gureum_core::{Bucket, ErrorKind};
use gureum_openstack::swift::encode_metadata_name;
use native_client::{gen_bytes, keyset, metadata_of, sha256_hex, skip_or_fail, Native};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

struct Env {
    auth: String,
    user: String,
    key: String,
}

fn env() -> Option<Env> {
    let get = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
    match (get("SWIFT_AUTH_URL"), get("SWIFT_USER"), get("SWIFT_KEY")) {
        (Some(auth), Some(user), Some(key)) => Some(Env { auth, user, key }),
        _ => skip_or_fail("SWIFT_AUTH_URL/SWIFT_USER/SWIFT_KEY not set"),
    }
}

async fn open(e: &Env, container: &str) -> Bucket {
    let url = format!(
        "swift://{container}?auth_url={}&user={}&key={}",
        e.auth, e.user, e.key
    );
    let b = gureum_openstack::open_swift(&ResourceUrl::parse(&url).unwrap())
        .await
        .unwrap();
    match b.admin().unwrap().create_bucket(container).await {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
        Err(err) => panic!("create container: {err}"),
    }
    b
}

fn native(e: &Env, container: &str) -> Option<Native> {
    Native::new(
        "swift_native.py",
        "GUREUM_SWIFT_PYTHON",
        "/usr/bin/python3",
        json!({"auth_url": e.auth, "user": e.user, "key": e.key, "container": container}),
    )
}

fn unique(p: &str) -> String {
    format!("{p}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn put_opts(meta: &BTreeMap<String, String>) -> PutOptions {
    let mut o = PutOptions::default().content_type("text/plain; charset=utf-8");
    for (k, v) in meta {
        o = o.metadata(k, v);
    }
    o
}

#[tokio::test]
async fn gureum_writes_swiftclient_reads() {
    let Some(e) = env() else { return };
    let c = unique("interop-gw");
    let Some(n) = native(&e, &c) else { return };
    let b = open(&e, &c).await;
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
    // The big object goes through the writer: SLO segments in `<container>_segments`.
    let big = gen_bytes(ks.big_size, 7);
    let mut w = b.writer(&ks.big_key, &opts).await.unwrap();
    for chunk in big.chunks(1024 * 1024) {
        w.write(chunk).await.unwrap();
    }
    w.finish().await.unwrap();
    expected.insert(ks.big_key.clone(), big);

    // swiftclient lists exactly these names.
    let listed = n.ok(json!({"op": "list"}));
    let names: BTreeSet<String> = listed["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = expected.keys().cloned().collect();
    assert_eq!(names, want);

    // ... and reads every one whole under its name, bytes and metadata identical.
    let ops = expected
        .keys()
        .map(|k| json!({"op": "get", "key": k}))
        .collect();
    for ((k, data), r) in expected.iter().zip(n.run(ops)) {
        assert_eq!(r["ok"], json!(true), "swiftclient get {k:?}: {r}");
        assert_eq!(r["size"], json!(data.len()), "{k:?}");
        assert_eq!(r["sha256"], json!(sha256_hex(data)), "{k:?}");
        assert_eq!(metadata_of(&r), ks.metadata, "metadata of {k:?}");
        assert_eq!(
            r["content_type"],
            json!("text/plain; charset=utf-8"),
            "{k:?}"
        );
    }
}

#[tokio::test]
async fn swiftclient_writes_gureum_reads() {
    let Some(e) = env() else { return };
    let c = unique("interop-nw");
    let Some(n) = native(&e, &c) else { return };
    let b = open(&e, &c).await;
    let ks = keyset();
    // A swiftclient user holding gureum's documented mapping writes `case%5Fid` for `case_id`.
    let native_meta: BTreeMap<String, String> = ks
        .metadata
        .iter()
        .map(|(k, v)| (encode_metadata_name(k), v.clone()))
        .collect();
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
    // Without the mapping: Swift itself turns `_` into `-`.
    ops.push(
        json!({"op": "put", "key": "plain-names.txt", "data_b64": "eA==",
        "metadata": {"Case_Id": "x", "Dept-Name": "y"}}),
    );
    for r in n.run(ops) {
        assert_eq!(r["ok"], json!(true), "{r}");
    }

    // gureum lists them by their names ...
    let listed: BTreeSet<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    let mut want: BTreeSet<String> = expected.keys().cloned().collect();
    want.insert("plain-names.txt".into());
    assert_eq!(listed, want);

    // ... reads them with their metadata ...
    for (k, data) in &expected {
        let got = b
            .get(k)
            .await
            .unwrap_or_else(|err| panic!("get {k:?}: {err}"));
        assert!(got[..] == data[..], "bytes of {k:?}");
        let h = b.head(k).await.unwrap();
        assert_eq!(h.metadata, ks.metadata, "metadata of {k:?}");
    }
    let h = b.head("plain-names.txt").await.unwrap();
    let plain: BTreeMap<String, String> = [("case-id", "x"), ("dept-name", "y")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(h.metadata, plain);

    // ... overwrites, copies and deletes them by name; swiftclient sees the result.
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
    b.delete("plain-names.txt").await.unwrap();
    let left = n.ok(json!({"op": "list"}));
    assert_eq!(left["names"], json!([]), "{left}");
    n.ok(json!({"op": "delete_container"}));
}

#[tokio::test]
async fn foreign_names_are_skipped_not_fatal() {
    let Some(e) = env() else { return };
    let c = unique("interop-foreign");
    let Some(n) = native(&e, &c) else { return };
    let b = open(&e, &c).await;
    // Names other tools may write that are outside the portable key space. Swift refuses
    // only names with NUL or invalid UTF-8, so control characters can be stored. (`./x` is
    // not here: python-swiftclient's HTTP stack normalises it to `x` before sending.)
    let foreign = ["a//b", "dir/", "/lead", "ctl\u{1}x", "tab\there"];
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
    // The raw store skips them too (object_store cannot hold such names as a Path).
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let raw: Vec<_> = b.object_store().list(None).try_collect().await.unwrap();
    assert_eq!(raw.len(), portable.len());
    let delim = b.object_store().list_with_delimiter(None).await.unwrap();
    let dirs: Vec<&str> = delim.common_prefixes.iter().map(|p| p.as_ref()).collect();
    // `a//b` and `dir/` lie under the directories `a` and `dir`; the `/` of `/lead` is no
    // directory name and is skipped.
    assert_eq!(dirs, vec!["a", "dir", "ok"]);
    let mut ops = Vec::new();
    for k in foreign.iter().chain(portable.iter()) {
        ops.push(json!({"op": "delete", "key": k}));
    }
    n.run(ops);
    n.ok(json!({"op": "delete_container"}));
}
