//! file:// interoperates with plain files, both directions, with the shared key set
//! (conformance/interop/keyset.json): what gureum writes is the file of the same name with
//! identical bytes for `std::fs` and Python (`os.listdir`); what Python writes, gureum
//! lists, reads, overwrites, copies and deletes by its name. Names are compared as bytes.

use gureum_core::storage::{Bucket, ListOptions, PutOptions};
use gureum_core::Registry;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

struct KeySet {
    keys: Vec<String>,
    big_key: String,
    big_bytes: usize,
    metadata: BTreeMap<String, String>,
}

fn keyset_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../conformance/interop/keyset.json")
}

fn keyset() -> KeySet {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(keyset_path()).unwrap()).unwrap();
    let keys: Vec<String> = v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap().to_string())
        .collect();
    assert!(keys.len() >= 10, "the key set has its keys");
    assert!(keys.iter().any(|k| k.len() == 1024), "a 1,024-byte key");
    let metadata = v["metadata"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    KeySet {
        keys,
        big_key: v["big_object"]["key"].as_str().unwrap().to_string(),
        big_bytes: v["big_object"]["bytes"].as_u64().unwrap() as usize,
        metadata,
    }
}

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::storage::register(&mut r);
    r
}

async fn open(root: &Path) -> Bucket {
    registry()
        .open_bucket(Some(&format!("file://{}", root.display())))
        .await
        .unwrap()
}

fn big_body(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

fn sha(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn python(args: &[&str]) -> String {
    let out = Command::new("python3").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every file under `root` as Python sees it (`os.listdir` on bytes paths, skipping the
/// store's own `.gureum-meta`): relative name bytes → (size, sha256 of the content).
fn python_tree(root: &Path) -> BTreeMap<Vec<u8>, (u64, String)> {
    const SCRIPT: &str = r#"
import hashlib, json, os, sys
root = os.fsencode(sys.argv[1])
out = {}
def walk(rel):
    d = os.path.join(root, rel) if rel else root
    for name in os.listdir(d):
        if not rel and name == b".gureum-meta":
            continue
        r = os.path.join(rel, name) if rel else name
        p = os.path.join(root, r)
        if os.path.isdir(p):
            walk(r)
        else:
            with open(p, "rb") as f:
                out[r.hex()] = [os.path.getsize(p), hashlib.sha256(f.read()).hexdigest()]
walk(b"")
print(json.dumps(out))
"#;
    let v: BTreeMap<String, (u64, String)> =
        serde_json::from_str(&python(&["-c", SCRIPT, root.to_str().unwrap()])).unwrap();
    v.into_iter()
        .map(|(hex, v)| {
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (bytes, v)
        })
        .collect()
}

#[tokio::test]
async fn gureum_writes_plain_files_that_python_reads_by_name() {
    let ks = keyset();
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("bucket");
    let b = open(&root).await;
    let meta = PutOptions {
        metadata: ks.metadata.clone(),
        ..Default::default()
    };
    let mut want: BTreeMap<Vec<u8>, (u64, String)> = BTreeMap::new();
    for k in &ks.keys {
        let body = format!("gureum:{k}").into_bytes();
        b.put_with(k, body.clone(), &meta)
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
        want.insert(k.as_bytes().to_vec(), (body.len() as u64, sha(&body)));
    }
    let big = big_body(ks.big_bytes);
    let mut w = b.writer(&ks.big_key, &PutOptions::default()).await.unwrap();
    for chunk in big.chunks(1 << 20) {
        w.write(chunk).await.unwrap();
    }
    w.finish().await.unwrap();
    want.insert(
        ks.big_key.as_bytes().to_vec(),
        (big.len() as u64, sha(&big)),
    );

    // std::fs: each key is the file of exactly that name, with the bytes written.
    for k in &ks.keys {
        let got = std::fs::read(root.join(k)).unwrap_or_else(|e| panic!("{k:?}: {e}"));
        assert_eq!(got, format!("gureum:{k}").into_bytes(), "{k:?}");
        let p = root.join(k);
        let names: Vec<Vec<u8>> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().as_bytes().to_vec())
            .collect();
        assert!(
            names.contains(&p.file_name().unwrap().as_bytes().to_vec()),
            "{k:?} is listed by read_dir under its own name"
        );
    }
    assert_eq!(std::fs::read(root.join(&ks.big_key)).unwrap(), big);
    // Python: the same names (bytes) and contents, nothing else.
    assert_eq!(python_tree(&root), want);
    // Metadata round-trips exactly (names with '_' and '-', non-ASCII values).
    for k in &ks.keys {
        let h = b.head(k).await.unwrap();
        assert_eq!(h.metadata, ks.metadata, "{k:?}");
        assert_eq!(h.key, *k);
    }
    // Listing gives the keys back exactly (NFC and NFD both, sorted by bytes).
    let (objects, skipped) = b.list_all_counted(None).await.unwrap();
    let listed: BTreeSet<Vec<u8>> = objects.iter().map(|o| o.key.as_bytes().to_vec()).collect();
    assert_eq!(listed, want.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(skipped, 0);
}

#[tokio::test]
async fn python_writes_plain_files_that_gureum_serves_by_name() {
    let ks = keyset();
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("tree");
    std::fs::create_dir_all(&root).unwrap();
    const SCRIPT: &str = r#"
import json, os, sys
root, keyset = sys.argv[1], sys.argv[2]
with open(keyset, encoding="utf-8") as f:
    ks = json.load(f)
def write(name, data):
    p = os.path.join(os.fsencode(root), name if isinstance(name, bytes) else name.encode("utf-8"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
for k in ks["keys"]:
    write(k["key"], ("native:" + k["key"]).encode("utf-8"))
big = ks["big_object"]
write(big["key"], bytes(i % 251 for i in range(big["bytes"])))
# Names outside the portable key space: a control character, a name that file:// reserves
# for long segments, and bytes that are not UTF-8.
write("foreign/tab\there.txt", b"x")
write("foreign/chain%+", b"x")
write(b"foreign/bad\xff.bin", b"x")
"#;
    python(&[
        "-c",
        SCRIPT,
        root.to_str().unwrap(),
        keyset_path().to_str().unwrap(),
    ]);
    let b = open(&root).await;
    let mut want: BTreeSet<String> = ks.keys.iter().cloned().collect();
    want.insert(ks.big_key.clone());

    // Listed by their own names; the three foreign names are skipped and counted.
    let (objects, skipped) = b.list_all_counted(None).await.unwrap();
    let listed: BTreeSet<String> = objects.iter().map(|o| o.key.clone()).collect();
    assert_eq!(listed, want);
    assert_eq!(skipped, 3);
    let page = b
        .list_page(&ListOptions {
            prefix: Some("foreign/".into()),
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.objects.is_empty() && page.common_prefixes.is_empty());
    assert_eq!(page.skipped, 3);

    // Read by name, bytes identical.
    for k in &ks.keys {
        assert_eq!(
            b.get(k).await.unwrap(),
            format!("native:{k}").into_bytes(),
            "{k:?}"
        );
    }
    let big = b.get(&ks.big_key).await.unwrap();
    assert_eq!(big.len(), ks.big_bytes);
    assert_eq!(sha(&big), sha(&big_body(ks.big_bytes)));

    // Overwrite, copy and delete by name; Python sees the result under the same names.
    let first = &ks.keys[0];
    b.put(first, "overwritten").await.unwrap();
    let copy = format!("{first} (copy)");
    b.copy(first, &copy).await.unwrap();
    for k in &ks.keys[1..] {
        b.delete(k).await.unwrap();
    }
    b.delete(&ks.big_key).await.unwrap();
    let tree = python_tree(&root);
    let names: BTreeSet<Vec<u8>> = tree.keys().cloned().collect();
    let expect: BTreeSet<Vec<u8>> = [
        first.as_bytes().to_vec(),
        copy.as_bytes().to_vec(),
        b"foreign/tab\there.txt".to_vec(),
        b"foreign/chain%+".to_vec(),
        b"foreign/bad\xff.bin".to_vec(),
    ]
    .into_iter()
    .collect();
    assert_eq!(names, expect);
    assert_eq!(tree[first.as_bytes()].1, sha(b"overwritten"));
    assert_eq!(tree[copy.as_bytes()].1, sha(b"overwritten"));
}
