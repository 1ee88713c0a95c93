//! Interop with boto3 (conformance/interop/s3_native.py) on moto and on OpenStack Swift's
//! s3api: keys stored verbatim, both directions, with the shared key set; foreign keys;
//! user metadata; request encoding of odd keys in paths, copy sources and list parameters.

mod common;
#[path = "common/native.rs"]
mod native;

use common::*;
use futures::TryStreamExt;
use gureum_aws::{open_s3, AwsCredentials, S3Config, S3Native, S3Quirks};
use gureum_core::object_store::path::Path;
use gureum_core::object_store::ObjectStore;
use gureum_core::{Bucket, ErrorKind, ListOptions, PutOptions};
use native::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A test server: moto or Swift s3api.
struct Server {
    name: &'static str,
    endpoint: String,
    access_key: String,
    secret_key: String,
    quirks: S3Quirks,
}

impl Server {
    fn moto() -> Option<Server> {
        let ep = moto()?;
        Some(Server {
            name: "moto",
            endpoint: ep,
            access_key: key_id(),
            secret_key: secret(),
            // moto's server (werkzeug) drops request headers whose name contains '_'.
            quirks: S3Quirks::aws()
                .metadata_underscore(false)
                .metadata_underscore_multipart(false),
        })
    }

    fn swift() -> Option<Server> {
        let ep = match std::env::var("SWIFT_S3_ENDPOINT") {
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
        safe_env();
        Some(Server {
            name: "swift-s3api",
            endpoint: ep,
            access_key: std::env::var("SWIFT_S3_ACCESS_KEY")
                .unwrap_or_else(|_| "test:tester".into()),
            secret_key: std::env::var("SWIFT_S3_SECRET_KEY").unwrap_or_else(|_| "testing".into()),
            quirks: S3Quirks::swift_s3api(),
        })
    }

    fn config(&self, bucket: &str) -> S3Config {
        S3Config::new(bucket)
            .endpoint(&self.endpoint)
            .region("us-east-1")
            .credentials(AwsCredentials::static_keys(
                &self.access_key,
                &self.secret_key,
            ))
            .quirks(self.quirks.clone())
    }

    async fn fresh(&self, prefix: &str) -> (Bucket, NativeTarget) {
        let name = unique(prefix);
        let b = open_s3(self.config(&name)).await.unwrap();
        b.admin().unwrap().create_bucket(&name).await.unwrap();
        let t = NativeTarget {
            endpoint: self.endpoint.clone(),
            access_key: self.access_key.clone(),
            secret_key: self.secret_key.clone(),
            bucket: name,
        };
        (b, t)
    }

    /// The key set's metadata this server can hold (on a plain PUT, or on a multipart upload).
    fn metadata(&self, ks: &KeySet, multipart: bool) -> BTreeMap<String, String> {
        let underscore = if multipart {
            self.quirks.metadata_underscore_multipart
        } else {
            self.quirks.metadata_underscore
        };
        ks.metadata
            .iter()
            .filter(|(k, _)| underscore || !k.contains('_'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn body_of(key: &str) -> Vec<u8> {
    format!("body of {key}").into_bytes()
}

async fn empty_and_delete(b: &Bucket) {
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    for k in keys {
        b.delete(&k).await.unwrap();
    }
    b.admin().unwrap().delete_bucket(b.name()).await.ok();
}

/// gureum writes every key of the set; boto3 finds each under exactly that key, with the
/// same bytes and metadata.
async fn gureum_writes_boto3_reads(s: Server) {
    let ks = keyset();
    let (b, t) = s.fresh("gi-w").await;
    let meta = s.metadata(&ks, false);
    let big_meta = s.metadata(&ks, true);
    let with = |m: &BTreeMap<String, String>| {
        m.iter()
            .fold(PutOptions::default(), |o, (k, v)| o.metadata(k, v))
    };
    let opts = with(&meta);
    if !s.quirks.metadata_underscore {
        let e = b
            .put_with(
                "x",
                b"x".to_vec(),
                &PutOptions::default().metadata("case_id", "1"),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{}: {e}", s.name);
    }
    for k in &ks.keys {
        b.put_with(k, body_of(k), &opts).await.unwrap();
    }
    if !s.quirks.metadata_underscore_multipart {
        // A writer opens lazily: the refusal comes when it starts the multipart upload (more
        // than one part written; small writes are a single PUT).
        let e = async {
            let mut w = b
                .writer("y", &PutOptions::default().metadata("case_id", "1"))
                .await?;
            w.write(&vec![0u8; 17 << 20]).await?;
            w.finish().await.map(|_| ())
        }
        .await
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{}: {e}", s.name);
    }
    let big = pattern(ks.big_bytes);
    let mut w = b.writer(&ks.big_key, &with(&big_meta)).await.unwrap();
    for chunk in big.chunks(1 << 20) {
        w.write(chunk).await.unwrap();
    }
    w.finish().await.unwrap();

    let mut expected: BTreeSet<String> = ks.keys.iter().cloned().collect();
    expected.insert(ks.big_key.clone());
    let mut ops = vec![
        serde_json::json!({"op": "list"}),
        serde_json::json!({"op": "list_v1"}),
    ];
    for k in expected.iter() {
        ops.push(key_op("get", k));
    }
    let Some(r) = boto3(&t, ops) else { return };
    let v2: BTreeSet<String> = listed(&r[0]).into_iter().collect();
    assert_eq!(v2, expected, "{}: boto3 list_objects_v2", s.name);
    let v1: BTreeSet<String> = listed(&r[1]).into_iter().collect();
    assert_eq!(v1, expected, "{}: boto3 list_objects", s.name);
    for (k, got) in expected.iter().zip(&r[2..]) {
        let want = if *k == ks.big_key {
            big.clone()
        } else {
            body_of(k)
        };
        assert_eq!(got["size"].as_u64(), Some(want.len() as u64), "{k}");
        assert_eq!(got["sha256"].as_str().unwrap(), sha256_hex(&want), "{k}");
        let meta = if *k == ks.big_key { &big_meta } else { &meta };
        assert_eq!(&meta_of(got, "metadata_decoded"), meta, "{}: {k}", s.name);
        // What boto3 shows: ASCII values as written, others as RFC 2047 encoded-words.
        let raw = meta_of(got, "metadata");
        for (name, v) in meta {
            if v.is_ascii() {
                assert_eq!(raw.get(name), Some(v), "{k}");
            } else {
                assert!(raw[name].starts_with("=?UTF-8?B?"), "{k}: {raw:?}");
            }
        }
    }
    empty_and_delete(&b).await;
}

/// boto3 writes every key of the set; gureum lists, reads, overwrites, copies and deletes
/// each by its name.
async fn boto3_writes_gureum_reads(s: Server) {
    let ks = keyset();
    let (b, t) = s.fresh("gi-r").await;
    let meta = s.metadata(&ks, false);
    let mut ops: Vec<_> = ks
        .keys
        .iter()
        .map(|k| put_op(k, &body_of(k), &meta))
        .collect();
    ops.push(put_pattern_op(&ks.big_key, ks.big_bytes));
    let Some(_) = boto3(&t, ops) else {
        empty_and_delete(&b).await;
        return;
    };
    let mut expected: BTreeSet<String> = ks.keys.iter().cloned().collect();
    expected.insert(ks.big_key.clone());
    let listed: BTreeSet<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(listed, expected, "{}: gureum list", s.name);
    // the raw store shows the same names
    let raw: BTreeSet<String> = b
        .object_store()
        .list(None)
        .map_ok(|m| m.location.as_ref().to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(raw, expected, "{}: object_store list", s.name);

    for k in &ks.keys {
        assert_eq!(&b.get(k).await.unwrap()[..], &body_of(k)[..], "{k}");
        let info = b.head(k).await.unwrap();
        assert_eq!(info.metadata, meta, "{}: {k}", s.name);
    }
    let big = b.get(&ks.big_key).await.unwrap();
    assert_eq!(sha256_hex(&big), sha256_hex(&pattern(ks.big_bytes)));

    // overwrite and copy by name; boto3 sees the results under the same names
    let copy_name = |k: &str| -> String {
        if k.len() > 1000 {
            format!("{}c", &k[..k.len() - 1])
        } else {
            format!("copy/{k}")
        }
    };
    for k in &ks.keys {
        b.put(k, format!("new {k}").into_bytes()).await.unwrap();
        b.copy(k, &copy_name(k)).await.unwrap();
    }
    let mut ops = Vec::new();
    for k in &ks.keys {
        ops.push(key_op("get", k));
        ops.push(key_op("get", &copy_name(k)));
    }
    let r = boto3(&t, ops).unwrap();
    for (i, k) in ks.keys.iter().enumerate() {
        let want = sha256_hex(format!("new {k}").as_bytes());
        assert_eq!(r[2 * i]["sha256"].as_str().unwrap(), want, "{k}");
        assert_eq!(
            r[2 * i + 1]["sha256"].as_str().unwrap(),
            want,
            "copy of {k}"
        );
    }

    // delete by name: boto3 sees an empty bucket
    for k in &ks.keys {
        b.delete(k).await.unwrap();
        b.delete(&copy_name(k)).await.unwrap();
    }
    b.delete(&ks.big_key).await.unwrap();
    let r = boto3(&t, vec![serde_json::json!({"op": "list"})]).unwrap();
    assert!(listed_keys(&r[0]).is_empty(), "{:?}", r[0]);
    b.admin().unwrap().delete_bucket(b.name()).await.unwrap();
}

fn listed_keys(v: &serde_json::Value) -> Vec<String> {
    native::listed(v)
}

/// Keys other tools write that gureum cannot name (outside the portable key space) are
/// skipped by listings, which never fail; the portable ones are served by name.
async fn foreign_keys(s: Server, list_v1: bool) {
    let name = unique("gi-f");
    let cfg = s
        .config(&name)
        .quirks(s.quirks.clone().list_objects_v1(list_v1));
    let b = open_s3(cfg).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let t = NativeTarget {
        endpoint: s.endpoint.clone(),
        access_key: s.access_key.clone(),
        secret_key: s.secret_key.clone(),
        bucket: name.clone(),
    };
    let foreign = [
        "a//b",
        "dir/",
        "./x",
        "ctl\u{1}x",
        "/lead",
        "sub/../up",
        "dir2//",
    ];
    let portable = ["dir/inside.txt", "ok/민원 1.txt", "a/b", "sub/x"];
    let none = BTreeMap::new();
    let ops = foreign
        .iter()
        .chain(portable.iter())
        .map(|k| put_op(k, k.as_bytes(), &none))
        .collect();
    if boto3(&t, ops).is_none() {
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
    assert_eq!(got, want, "{} v1={list_v1}", s.name);
    let (_, skipped) = b.list_all_counted(None).await.unwrap();
    assert_eq!(skipped, foreign.len() as u64, "{} v1={list_v1}", s.name);
    // grouped listing and offsets never fail either
    let page = b
        .list_page(&ListOptions {
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let prefixes: BTreeSet<String> = page.common_prefixes.into_iter().collect();
    for p in ["a/", "dir/", "ok/", "sub/"] {
        assert!(prefixes.contains(p), "{p} in {prefixes:?}");
    }
    let store = b.object_store();
    let after: Vec<String> = store
        .list_with_offset(None, &Path::parse("a/b").unwrap())
        .map_ok(|m| m.location.as_ref().to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(after, vec!["dir/inside.txt", "ok/민원 1.txt", "sub/x"]);
    let under: Vec<String> = store
        .list(Some(&Path::parse("dir").unwrap()))
        .map_ok(|m| m.location.as_ref().to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(under, vec!["dir/inside.txt"]);
    // the portable ones: read, overwrite, copy, delete by name
    for k in portable {
        assert_eq!(&b.get(k).await.unwrap()[..], k.as_bytes());
        b.put(k, b"over".to_vec()).await.unwrap();
        b.copy(k, &format!("copied/{k}")).await.unwrap();
        assert_eq!(&b.get(&format!("copied/{k}")).await.unwrap()[..], b"over");
        b.delete(k).await.unwrap();
        b.delete(&format!("copied/{k}")).await.unwrap();
    }
    let r = boto3(&t, vec![serde_json::json!({"op": "list"})]).unwrap();
    let left: BTreeSet<String> = listed_keys(&r[0]).into_iter().collect();
    let foreign_set: BTreeSet<String> = foreign.iter().map(|s| s.to_string()).collect();
    assert_eq!(left, foreign_set, "gureum touched only its own names");
    let ops = foreign.iter().map(|k| key_op("delete", k)).collect();
    boto3(&t, ops).unwrap();
    b.admin().unwrap().delete_bucket(&name).await.unwrap();
}

/// Odd characters in every request position: object paths, `x-amz-copy-source`, list
/// `prefix`, `start-after`/`marker`, continuation tokens over small pages, and listings
/// decoded from `encoding-type=url`.
async fn request_encoding(s: Server, list_v1: bool) {
    let name = unique("gi-e");
    let cfg = s
        .config(&name)
        .quirks(s.quirks.clone().list_objects_v1(list_v1));
    let b = open_s3(cfg).await.unwrap();
    b.admin().unwrap().create_bucket(&name).await.unwrap();
    let keys = [
        "p/a+b c.txt",
        "p/a+b%20c.txt",
        "p/a%2Bb.txt",
        "p/hash#1",
        "p/q?x=1&y",
        "p/민원 #1?.txt",
        "p/민원+2.txt",
        "p/정규화",                                                   // NFC
        "p/\u{110c}\u{1165}\u{11bc}\u{1100}\u{1172}\u{1112}\u{116a}", // the same in NFD
        "p/😀 ~[]{}'!(),@=.txt",
        "p/sub/x+y",
        "p/sub/x y",
    ];
    for k in keys {
        b.put(k, k.as_bytes().to_vec()).await.unwrap();
    }
    let mut sorted: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
    sorted.sort(); // S3 orders by UTF-8 bytes, as Rust's String does
    let native = b.native::<S3Native>().unwrap();
    for page_size in [1usize, 2, 5] {
        let store: Arc<dyn ObjectStore> =
            Arc::new(native.s3_store().clone().with_page_size(page_size));
        let all: Vec<String> = store
            .list(Some(&Path::parse("p").unwrap()))
            .map_ok(|m| m.location.as_ref().to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(all, sorted, "{} v1={list_v1} page {page_size}", s.name);
        for (i, off) in sorted.iter().enumerate() {
            let after: Vec<String> = store
                .list_with_offset(Some(&Path::parse("p").unwrap()), &Path::parse(off).unwrap())
                .map_ok(|m| m.location.as_ref().to_string())
                .try_collect()
                .await
                .unwrap();
            assert_eq!(after, sorted[i + 1..].to_vec(), "after {off:?}");
        }
        let d = store
            .list_with_delimiter(Some(&Path::parse("p").unwrap()))
            .await
            .unwrap();
        assert_eq!(d.common_prefixes, vec![Path::parse("p/sub").unwrap()]);
        assert_eq!(d.objects.len(), sorted.len() - 2);
    }
    // character prefixes with odd characters go out in the `prefix` parameter
    for (prefix, n) in [
        ("p/a+b", 2),
        ("p/민원", 2),
        ("p/hash#", 1),
        ("p/q?", 1),
        ("p/a%", 1),
    ] {
        let got = b.list_all(Some(prefix)).await.unwrap();
        assert_eq!(got.len(), n, "prefix {prefix:?}: {got:?}");
    }
    // copy sources and reads with every key
    for k in keys {
        let to = format!("c/{k}");
        b.copy(k, &to).await.unwrap();
        assert_eq!(&b.get(&to).await.unwrap()[..], k.as_bytes(), "{k}");
        b.delete(&to).await.unwrap();
    }
    empty_and_delete(&b).await;
}

/// Metadata names and values round-trip exactly; names S3 cannot hold are typed errors.
async fn metadata_round_trip(s: Server) {
    let (b, t) = s.fresh("gi-m").await;
    let mut meta = BTreeMap::new();
    meta.insert("dept-name".to_string(), "민원과 (시청)".to_string());
    meta.insert("emoji".to_string(), "구름 ☁️ 😀".to_string());
    // Several RFC 2047 words; Swift stores at most 256 bytes per value as sent.
    meta.insert("long".to_string(), "가나다".repeat(8));
    meta.insert("spaces".to_string(), "a   b".to_string());
    meta.insert("looks-encoded".to_string(), "=?UTF-8?B?YQ==?=".to_string());
    meta.insert("plain".to_string(), "ascii value".to_string());
    if s.quirks.metadata_underscore {
        meta.insert("case_id".to_string(), "c-1041".to_string());
    }
    let mut opts = PutOptions::default();
    for (k, v) in &meta {
        opts = opts.metadata(k, v);
    }
    b.put_with("m", b"m".to_vec(), &opts).await.unwrap();
    assert_eq!(b.head("m").await.unwrap().metadata, meta, "{}", s.name);
    // boto3 decodes the same values
    let Some(r) = boto3(&t, vec![key_op("get", "m")]) else {
        empty_and_delete(&b).await;
        return;
    };
    assert_eq!(meta_of(&r[0], "metadata_decoded"), meta, "{}", s.name);
    // white space at either end: HTTP would trim it (gureum-core's rule)
    let e = b
        .put_with(
            "m2",
            b"m".to_vec(),
            &PutOptions::default().metadata("lead", " x"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // too long for the service: InvalidArgument before any request
    let too_long = if s.quirks.max_metadata_value_bytes.is_some() {
        "가".repeat(100)
    } else {
        "가".repeat(700)
    };
    let e = b
        .put_with(
            "m2",
            b"m".to_vec(),
            &PutOptions::default().metadata("long", too_long),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // names outside header-token characters: InvalidArgument
    for bad in ["a b", "메타", "a:b"] {
        let e = b
            .put_with(
                "m2",
                b"m".to_vec(),
                &PutOptions::default().metadata(bad, "v"),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}: {e}");
    }
    empty_and_delete(&b).await;
}

macro_rules! on_servers {
    ($($(#[$attr:meta])* $name:ident => $body:expr;)*) => {$(
        mod $name {
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn moto() {
                let Some(s) = Server::moto() else { return };
                #[allow(clippy::redundant_closure_call)]
                ($body)(s).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn swift_s3api() {
                let Some(s) = Server::swift() else { return };
                #[allow(clippy::redundant_closure_call)]
                ($body)(s).await;
            }
        }
    )*};
}

on_servers! {
    gureum_to_boto3 => gureum_writes_boto3_reads;
    boto3_to_gureum => boto3_writes_gureum_reads;
    foreign_v2 => |s| foreign_keys(s, false);
    foreign_v1 => |s| foreign_keys(s, true);
    encoding_v2 => |s| request_encoding(s, false);
    encoding_v1 => |s| request_encoding(s, true);
    metadata => metadata_round_trip;
}
