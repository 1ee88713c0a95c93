//! Every public Bucket operation on mem:// and file://.

use futures::TryStreamExt;
use gureum_core::storage::{Bucket, ByteRange, ListOptions, PresignMethod, PutOptions, WriteMode};
use gureum_core::{ErrorKind, Registry};
use std::time::Duration;
use tokio::io::AsyncReadExt;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::storage::register(&mut r);
    r
}

async fn mem_bucket(name: &str) -> Bucket {
    registry()
        .open_bucket(Some(&format!(
            "mem://{name}-{}",
            uuid::Uuid::new_v4().simple()
        )))
        .await
        .unwrap()
}

async fn file_bucket(dir: &tempfile::TempDir) -> Bucket {
    let root = dir.path().join("bucket");
    registry()
        .open_bucket(Some(&format!("file://{}", root.display())))
        .await
        .unwrap()
}

async fn basic_ops(b: &Bucket) {
    // put / get / head / exists
    let w = b.put("a/b.txt", "hello").await.unwrap();
    assert!(w.etag.is_some());
    assert_eq!(&b.get("a/b.txt").await.unwrap()[..], b"hello");
    let h = b.head("a/b.txt").await.unwrap();
    assert_eq!(h.size, 5);
    assert_eq!(h.key, "a/b.txt");
    assert_eq!(h.etag, w.etag, "put etag equals head etag");
    assert!(b.exists("a/b.txt").await.unwrap());
    assert!(!b.exists("a/missing").await.unwrap());
    let e = b.get("a/missing").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = b.head("nope").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // empty object
    b.put("empty", Vec::<u8>::new()).await.unwrap();
    assert_eq!(b.get("empty").await.unwrap().len(), 0);
    assert_eq!(b.head("empty").await.unwrap().size, 0);

    // overwrite changes etag
    let w2 = b.put("a/b.txt", "hellO").await.unwrap();
    assert_ne!(w.etag, w2.etag);
    assert_eq!(&b.get("a/b.txt").await.unwrap()[..], b"hellO");

    // get_with_info
    let (info, data) = b.get_with_info("a/b.txt").await.unwrap();
    assert_eq!(info.size, 5);
    assert_eq!(&data[..], b"hellO");

    // ranges
    b.put("r", "0123456789").await.unwrap();
    assert_eq!(&b.get_range("r", 2..5).await.unwrap()[..], b"234");
    assert_eq!(
        &b.get_range("r", ByteRange::From(7)).await.unwrap()[..],
        b"789"
    );
    assert_eq!(
        &b.get_range("r", ByteRange::Suffix(3)).await.unwrap()[..],
        b"789"
    );
    assert_eq!(
        &b.get_range("r", 8..100).await.unwrap()[..],
        b"89",
        "end is clamped"
    );
    let e = b.get_range("r", 20..30).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = b.get_range("r", 5..5).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = b.get_range("missing", 0..1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    // stream + reader
    let chunks: Vec<bytes::Bytes> = b
        .get_stream("r")
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(chunks.concat(), b"0123456789");
    let mut rd = b.reader("r").await.unwrap();
    let mut s = String::new();
    rd.read_to_string(&mut s).await.unwrap();
    assert_eq!(s, "0123456789");

    // delete (idempotent)
    b.delete("r").await.unwrap();
    b.delete("r").await.unwrap();
    assert!(!b.exists("r").await.unwrap());
    let res = b
        .delete_many(&[
            "a/b.txt".to_string(),
            "never".to_string(),
            "empty".to_string(),
        ])
        .await
        .unwrap();
    assert_eq!(res.len(), 3);
    assert!(res.iter().all(|r| r.is_ok()), "{res:?}");
    assert!(b.list_all(None).await.unwrap().is_empty());
}

async fn conditional(b: &Bucket) {
    let create = PutOptions::default().mode(WriteMode::CreateOnly);
    b.put_with("c", "1", &create).await.unwrap();
    let e = b.put_with("c", "2", &create).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(&b.get("c").await.unwrap()[..], b"1");

    let e1 = b.head("c").await.unwrap().etag.unwrap();
    let w2 = b
        .put_with(
            "c",
            "2",
            &PutOptions::default().mode(WriteMode::IfMatch(e1.clone())),
        )
        .await
        .unwrap();
    assert_eq!(&b.get("c").await.unwrap()[..], b"2");
    // Same size, same content length: the stale etag must still fail.
    let e = b
        .put_with(
            "c",
            "3",
            &PutOptions::default().mode(WriteMode::IfMatch(e1.clone())),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    // Rapid same-size overwrites never repeat an etag.
    let mut seen = std::collections::BTreeSet::new();
    seen.insert(e1);
    seen.insert(w2.etag.clone().unwrap());
    for i in 0..20 {
        let w = b.put("c", format!("{}", i % 10)).await.unwrap();
        assert!(seen.insert(w.etag.unwrap()), "etag repeated");
    }
    let e = b
        .put_with(
            "missing",
            "x",
            &PutOptions::default().mode(WriteMode::IfMatch("\"x\"".into())),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    assert!(!b.exists("missing").await.unwrap());
    b.delete("c").await.unwrap();
}

async fn metadata(b: &Bucket) {
    let o = PutOptions::default()
        .content_type("application/json")
        .metadata("owner", "kim")
        .metadata("dept-name", "민원과 (시청)")
        .metadata("case_id", "c-1041");
    b.put_with("m.json", "{}", &o).await.unwrap();
    let h = b.head("m.json").await.unwrap();
    assert_eq!(h.content_type.as_deref(), Some("application/json"));
    assert_eq!(h.metadata.get("owner").map(String::as_str), Some("kim"));
    assert_eq!(
        h.metadata.get("dept-name").map(String::as_str),
        Some("민원과 (시청)")
    );
    assert_eq!(
        h.metadata.get("case_id").map(String::as_str),
        Some("c-1041")
    );
    assert_eq!(h.metadata.len(), 3, "{:?}", h.metadata);
    let (i, _) = b.get_with_info("m.json").await.unwrap();
    assert_eq!(i.metadata, h.metadata);
    assert_eq!(i.content_type.as_deref(), Some("application/json"));
    // Overwrite without metadata drops it.
    b.put("m.json", "{}").await.unwrap();
    let h = b.head("m.json").await.unwrap();
    assert_eq!(h.content_type, None);
    assert!(h.metadata.is_empty());
    // Bad metadata name.
    let e = b
        .put_with("m2", "x", &PutOptions::default().metadata("bad name", "v"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    b.delete("m.json").await.unwrap();
}

async fn copy_rename(b: &Bucket) {
    let o = PutOptions::default()
        .content_type("text/plain")
        .metadata("k", "v");
    b.put_with("src/x", "data", &o).await.unwrap();
    b.copy("src/x", "dst/y").await.unwrap();
    assert_eq!(&b.get("dst/y").await.unwrap()[..], b"data");
    let h = b.head("dst/y").await.unwrap();
    assert_eq!(h.content_type.as_deref(), Some("text/plain"));
    assert_eq!(h.metadata.get("k").map(String::as_str), Some("v"));
    // Overwriting the source does not change the copy.
    b.put("src/x", "new").await.unwrap();
    assert_eq!(&b.get("dst/y").await.unwrap()[..], b"data");
    let e = b.copy_if_not_exists("src/x", "dst/y").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    b.copy_if_not_exists("src/x", "dst/z").await.unwrap();
    assert_eq!(&b.get("dst/z").await.unwrap()[..], b"new");
    let e = b.copy("nope", "dst/w").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    b.rename("dst/y", "moved/y").await.unwrap();
    assert!(!b.exists("dst/y").await.unwrap());
    assert_eq!(&b.get("moved/y").await.unwrap()[..], b"data");
    let h = b.head("moved/y").await.unwrap();
    assert_eq!(h.content_type.as_deref(), Some("text/plain"));
    let e = b.rename("nope", "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    for k in ["src/x", "dst/z", "moved/y"] {
        b.delete(k).await.unwrap();
    }
    assert!(b.list_all(None).await.unwrap().is_empty());
    // No empty "directories" linger as common prefixes.
    let p = b
        .list_page(&ListOptions {
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(p.common_prefixes.is_empty(), "{:?}", p.common_prefixes);
}

async fn multipart(b: &Bucket) {
    let o = PutOptions::default()
        .content_type("application/octet-stream")
        .metadata("part", "yes");
    let mut w = b.writer("big/blob", &o).await.unwrap();
    let chunk = vec![7u8; 1024 * 1024];
    for _ in 0..10 {
        w.write(&chunk).await.unwrap();
    }
    w.write(b"tail").await.unwrap();
    assert_eq!(w.bytes_written(), 10 * 1024 * 1024 + 4);
    let r = w.finish().await.unwrap();
    let h = b.head("big/blob").await.unwrap();
    assert_eq!(h.size, 10 * 1024 * 1024 + 4);
    assert_eq!(h.etag, r.etag);
    assert_eq!(h.content_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(h.metadata.get("part").map(String::as_str), Some("yes"));
    assert_eq!(
        &b.get_range("big/blob", ByteRange::Suffix(4)).await.unwrap()[..],
        b"tail"
    );

    let mut w = b
        .writer("big/aborted", &PutOptions::default())
        .await
        .unwrap();
    w.write(&chunk).await.unwrap();
    w.abort().await.unwrap();
    assert!(!b.exists("big/aborted").await.unwrap());
    let e = b
        .writer("x", &PutOptions::default().mode(WriteMode::CreateOnly))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    b.delete("big/blob").await.unwrap();
}

async fn listing(b: &Bucket) {
    // 1,205 keys in two prefixes plus nested ones.
    let mut keys = Vec::new();
    for i in 0..1100 {
        keys.push(format!("p/{i:05}"));
    }
    for i in 0..100 {
        keys.push(format!("q/{i:03}"));
    }
    keys.extend([
        "q/sub/a".to_string(),
        "q/sub/b".into(),
        "q/zz/c".into(),
        "top".into(),
        "p2".into(),
    ]);
    use futures::StreamExt;
    let results: Vec<_> = futures::stream::iter(keys.iter())
        .map(|k| b.put(k, "v"))
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(results.iter().all(|r| r.is_ok()));
    let all = b.list_all(None).await.unwrap();
    assert_eq!(all.len(), keys.len());
    // Character prefix: "p" matches p/ and p2.
    assert_eq!(b.list_all(Some("p")).await.unwrap().len(), 1101);
    assert_eq!(b.list_all(Some("p/")).await.unwrap().len(), 1100);
    assert_eq!(b.list_all(Some("p/005")).await.unwrap().len(), 100);
    assert_eq!(
        b.list_stream(Some("q/"))
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len(),
        103
    );

    // Pagination past 1000 keys, default page size.
    let mut token = None;
    let mut got = Vec::new();
    let mut pages = 0;
    loop {
        let page = b
            .list_page(&ListOptions {
                prefix: Some("p/".into()),
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        pages += 1;
        assert!(page.objects.len() <= 1000);
        got.extend(page.objects.into_iter().map(|o| o.key));
        token = page.next_token;
        if token.is_none() || pages > 10 {
            break;
        }
    }
    assert_eq!(pages, 2);
    let want: Vec<String> = (0..1100).map(|i| format!("p/{i:05}")).collect();
    assert_eq!(got, want, "ascending order, no gaps or duplicates");

    // Small pages.
    let mut token = None;
    let mut n = 0;
    for _ in 0..100 {
        let page = b
            .list_page(&ListOptions {
                prefix: Some("q/".into()),
                page_size: Some(7),
                page_token: token.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        n += page.objects.len();
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    assert_eq!(n, 103);

    // Delimiter.
    let page = b
        .list_page(&ListOptions {
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.common_prefixes,
        vec!["p/".to_string(), "q/".to_string()]
    );
    let top: Vec<String> = page.objects.iter().map(|o| o.key.clone()).collect();
    assert_eq!(top, vec!["p2".to_string(), "top".to_string()]);
    let page = b
        .list_page(&ListOptions {
            prefix: Some("q/".into()),
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.common_prefixes,
        vec!["q/sub/".to_string(), "q/zz/".to_string()]
    );
    assert_eq!(page.objects.len(), 100);
    let page = b
        .list_page(&ListOptions {
            prefix: Some("q/s".into()),
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.common_prefixes, vec!["q/sub/".to_string()]);
    assert!(page.objects.is_empty());
    let page = b
        .list_page(&ListOptions {
            prefix: Some("nothing/".into()),
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(page.objects.is_empty() && page.common_prefixes.is_empty());

    let res = b.delete_many(&keys).await.unwrap();
    assert!(res.iter().all(|r| r.is_ok()));
    assert!(b.list_all(None).await.unwrap().is_empty());
}

async fn presign_and_info(b: &Bucket, scheme: &str) {
    let e = b
        .presign(PresignMethod::Get, "k", Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(!b.capabilities().presign);
    assert!(b.capabilities().bucket_admin);
    assert_eq!(b.info().scheme, scheme);
    assert_eq!(b.info().provider, "local");
    assert_eq!(b.info().zone, gureum_core::Zone::OnPrem);
}

/// Keys that are awkward for one backend or another; all must round-trip.
fn odd_keys() -> Vec<String> {
    let mut v: Vec<String> = [
        "민원/2026/접수 1.json",
        "a b/c d",
        "plus+sign",
        "percent%41%",
        "q?mark",
        "hash#1",
        "hash#tag",
        "emoji 🎉",
        "back\\slash",
        "star*",
        ".hidden",
        "%00",
        "x/%2E%2E/y",
        "literal%20space.txt",
        "x/.../y",
        "정규화/한글 문서.txt",
        "정규화/\u{1112}\u{1161}\u{11ab}\u{1100}\u{1173}\u{11af} 문서.txt",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // 1024-byte key in short segments.
    let seg = "k".repeat(99);
    let mut long = String::new();
    while long.len() + 100 <= 1024 {
        long.push_str(&seg);
        long.push('/');
    }
    while long.len() < 1024 {
        long.push('z');
    }
    assert_eq!(long.len(), 1024);
    v.push(long);
    v
}

async fn odd_key_round_trip(b: &Bucket) {
    let keys = odd_keys();
    for k in &keys {
        b.put(k, k.clone())
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
    }
    for k in &keys {
        assert_eq!(b.get(k).await.unwrap(), k.as_bytes(), "{k:?}");
    }
    let mut listed: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    listed.sort();
    let mut want = keys.clone();
    want.sort();
    assert_eq!(listed, want);
    for k in &keys {
        b.delete(k).await.unwrap();
    }
    assert!(b.list_all(None).await.unwrap().is_empty());
    // Invalid keys.
    for k in [
        "",
        "nul\0byte",
        "/leading",
        "trailing/",
        "double//slash",
        "..",
        ".",
        "a/../../b",
        "x/../../etc/passwd",
        "/abs/path",
        "tab\there",
        "a/./b",
    ] {
        let e = b.put(k, "x").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{k:?}");
    }
    let e = b.put(&"k".repeat(1025), "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

async fn admin(b: &Bucket) {
    let admin = b.admin().unwrap().clone();
    let name = format!("adm-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    admin.create_bucket(&name).await.unwrap();
    let e = admin.create_bucket(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert!(admin.list_buckets().await.unwrap().contains(&name));
    let nb = admin.open(&name).await.unwrap();
    assert_eq!(nb.name(), name);
    nb.put("x", "y").await.unwrap();
    let e = admin.delete_bucket(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
    nb.delete("x").await.unwrap();
    admin.delete_bucket(&name).await.unwrap();
    assert!(!admin.list_buckets().await.unwrap().contains(&name));
    let e = admin.delete_bucket(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = admin.open(&name).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    for bad in ["", "../x", "a/b", ".hidden"] {
        let e = admin.create_bucket(bad).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
    }
}

async fn suite(b: &Bucket, scheme: &str) {
    basic_ops(b).await;
    conditional(b).await;
    metadata(b).await;
    copy_rename(b).await;
    multipart(b).await;
    listing(b).await;
    odd_key_round_trip(b).await;
    presign_and_info(b, scheme).await;
    admin(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mem_suite() {
    let b = mem_bucket("suite").await;
    suite(&b, "mem").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_suite() {
    let d = tempfile::tempdir().unwrap();
    let b = file_bucket(&d).await;
    suite(&b, "file").await;
}

#[tokio::test]
async fn mem_same_name_same_store() {
    let r = registry();
    let name = format!("shared-{}", uuid::Uuid::new_v4().simple());
    let a = r.open_bucket(Some(&format!("mem://{name}"))).await.unwrap();
    let b = r.open_bucket(Some(&format!("mem://{name}"))).await.unwrap();
    a.put("k", "v").await.unwrap();
    assert_eq!(&b.get("k").await.unwrap()[..], b"v");
    let other = r
        .open_bucket(Some(&format!("mem://{name}-2")))
        .await
        .unwrap();
    assert!(!other.exists("k").await.unwrap());
    assert_eq!(a.name(), name);
    assert!(a.native::<object_store::memory::InMemory>().is_some());
}

#[tokio::test]
async fn file_url_errors() {
    let r = registry();
    for u in ["file://", "file:///", "file://host/dir"] {
        let e = r.open_bucket(Some(u)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{u}: {e}");
    }
}

#[tokio::test]
async fn file_root_created_and_shared_between_opens() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("deep/er/bucket");
    let url = format!("file://{}", root.display());
    let a = registry().open_bucket(Some(&url)).await.unwrap();
    assert!(root.is_dir());
    assert_eq!(a.name(), "bucket");
    a.put_with("k", "v", &PutOptions::default().content_type("text/x"))
        .await
        .unwrap();
    let b = registry().open_bucket(Some(&url)).await.unwrap();
    assert_eq!(
        b.head("k").await.unwrap().content_type.as_deref(),
        Some("text/x")
    );
    // The data file is where plain object_store users expect it.
    assert_eq!(std::fs::read(root.join("k")).unwrap(), b"v");
    // A plain LocalFileSystem on the same root sees the same objects.
    let lfs = object_store::local::LocalFileSystem::new_with_prefix(&root).unwrap();
    use object_store::ObjectStoreExt;
    let got = lfs
        .get(&object_store::path::Path::from("k"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&got[..], b"v");
    // Files put there by other tools are objects.
    std::fs::create_dir_all(root.join("photos/2024")).unwrap();
    std::fs::write(root.join("photos/2024/x.jpg"), "jpg").unwrap();
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, vec!["k".to_string(), "photos/2024/x.jpg".to_string()]);
    assert_eq!(&b.get("photos/2024/x.jpg").await.unwrap()[..], b"jpg");
    // The admin's buckets are the siblings.
    let admin = a.admin().unwrap();
    assert_eq!(
        admin.list_buckets().await.unwrap(),
        vec!["bucket".to_string()]
    );
}

#[tokio::test]
async fn file_hostile_keys_stay_inside_root() {
    let d = tempfile::tempdir().unwrap();
    let outer = d.path().join("outer");
    let root = outer.join("inner/bucket");
    let b = registry()
        .open_bucket(Some(&format!("file://{}", root.display())))
        .await
        .unwrap();
    // Keys that a file system would resolve or collapse are refused: nothing is written.
    let refused = [
        "../../etc/passwd",
        "../escape",
        "..",
        "/abs",
        "/etc/passwd",
        "a/../../b",
        "a/../../../../../../../../tmp/x",
        "./.",
        "a//..//b",
        "trailing/",
        "+ % ? # //",
    ];
    for k in refused {
        let e = b.put(k, k).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{k:?}");
        check_inside(&outer, &root);
    }
    // Odd but portable keys are plain names inside the root.
    let hostile = [
        "..\\..\\win",
        "+ % ? #",
        "공백 있는 키",
        " ",
        "...",
        "a/.../b",
        "invoice#2",
    ];
    // One at a time: on a file system "..." (an object) and "a/.../b" cannot clash, but
    // each must list alone.
    for k in hostile {
        b.put(k, k)
            .await
            .unwrap_or_else(|e| panic!("put {k:?}: {e}"));
        assert_eq!(b.get(k).await.unwrap(), k.as_bytes(), "{k:?}");
        assert!(root.join(k).is_file(), "{k:?} is the file of its own name");
        let keys: Vec<String> = b
            .list_all(None)
            .await
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, vec![k.to_string()]);
        check_inside(&outer, &root);
        b.delete(k).await.unwrap();
    }
    for k in ["..\\..\\x", "a/.../b", "+ % ? #", " "] {
        b.put(k, k).await.unwrap();
    }
    check_inside(&outer, &root);
    // Failures are InvalidArgument, never an I/O error on some other path.
    let e = b.put("nul\0", "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // One 1024-byte segment (longer than NAME_MAX) still round-trips.
    let k = "x".repeat(1024);
    b.put(&k, "long").await.unwrap();
    assert_eq!(&b.get(&k).await.unwrap()[..], b"long");
    b.delete(&k).await.unwrap();
    let e = b.put("a/.gureum-obj", "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidArgument,
        "one 1024-byte segment exceeds NAME_MAX: {e}"
    );
    let e = b.put(&"y".repeat(1025), "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    // The hidden metadata directory is reserved and never listed.
    let e = b.put(".gureum-meta/x", "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let e = b.get(".gureum-meta/locks/00.lock").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys.len(), 4, "{keys:?}");
    assert!(keys.iter().all(|k| !k.starts_with(".gureum-meta")));
}

fn check_inside(outer: &std::path::Path, root: &std::path::Path) {
    // Nothing outside the root was created: outer holds only inner/.
    let outside: Vec<_> = std::fs::read_dir(outer)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("inner")]);
    let inner: Vec<_> = std::fs::read_dir(outer.join("inner"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(inner, vec![std::ffi::OsString::from("bucket")]);
    // Every file under the root is inside it (walk and check canonical paths).
    let canon_root = std::fs::canonicalize(root).unwrap();
    let mut stack = vec![canon_root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = std::fs::canonicalize(e.unwrap().path()).unwrap();
            assert!(p.starts_with(&canon_root), "{p:?}");
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
}

#[tokio::test]
async fn file_object_and_prefix_with_the_same_name_coexist() {
    let d = tempfile::tempdir().unwrap();
    let b = file_bucket(&d).await;
    b.put_with("a", "file", &PutOptions::default().content_type("text/a"))
        .await
        .unwrap();
    b.put("a/b", "x").await.unwrap();
    b.put("c/d", "y").await.unwrap();
    b.put("c", "z").await.unwrap();
    assert_eq!(&b.get("a").await.unwrap()[..], b"file");
    assert_eq!(
        b.head("a").await.unwrap().content_type.as_deref(),
        Some("text/a")
    );
    assert_eq!(&b.get("a/b").await.unwrap()[..], b"x");
    assert_eq!(&b.get("c").await.unwrap()[..], b"z");
    assert_eq!(&b.get("c/d").await.unwrap()[..], b"y");
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys, vec!["a", "a/b", "c", "c/d"]);
    let p = b
        .list_page(&ListOptions {
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.common_prefixes, vec!["a/".to_string(), "c/".to_string()]);
    let objs: Vec<String> = p.objects.into_iter().map(|o| o.key).collect();
    assert_eq!(objs, vec!["a", "c"]);
    // Deleting the prefix's objects leaves the object, and vice versa.
    b.delete("a/b").await.unwrap();
    assert_eq!(&b.get("a").await.unwrap()[..], b"file");
    let p = b
        .list_page(&ListOptions {
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.common_prefixes, vec!["c/".to_string()]);
    b.delete("c").await.unwrap();
    assert_eq!(&b.get("c/d").await.unwrap()[..], b"y");
    assert!(!b.exists("c").await.unwrap());
    // Copy and rename into the both-kinds situation.
    b.copy("a", "c").await.unwrap();
    assert_eq!(&b.get("c").await.unwrap()[..], b"file");
    b.rename("c/d", "a/d").await.unwrap();
    assert_eq!(&b.get("a/d").await.unwrap()[..], b"y");
    assert!(!b.exists("c/d").await.unwrap());
    for k in ["a", "a/d", "c"] {
        b.delete(k).await.unwrap();
    }
    assert!(b.list_all(None).await.unwrap().is_empty());
    let root = d.path().join("bucket");
    let left: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        vec![".gureum-meta".to_string()],
        "empty directories are pruned"
    );
}

#[tokio::test]
async fn file_long_segments_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let b = file_bucket(&d).await;
    let long = "x".repeat(1000);
    let hangul = format!("dir/{}", "가".repeat(300)); // 900 bytes in one segment
    let keys = [
        long.clone(),
        format!("{long}/child"),
        hangul.clone(),
        format!("p/{}", "%".repeat(300)),
    ];
    for k in &keys {
        b.put(k, k.clone()).await.unwrap();
    }
    for k in &keys {
        assert_eq!(b.get(k).await.unwrap(), k.as_bytes());
    }
    let mut listed: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    listed.sort();
    let mut want = keys.to_vec();
    want.sort();
    assert_eq!(listed, want);
    let p = b
        .list_page(&ListOptions {
            delimiter: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(p.objects.len(), 1);
    assert_eq!(p.objects[0].key, long);
    assert_eq!(p.common_prefixes.len(), 3);
    assert!(p.common_prefixes.contains(&format!("{long}/")));
    for k in &keys {
        b.delete(k).await.unwrap();
    }
    assert!(b.list_all(None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_concurrent_if_match_has_one_winner() {
    let d = tempfile::tempdir().unwrap();
    let b = file_bucket(&d).await;
    let w = b.put("counter", "0").await.unwrap();
    let etag = w.etag.unwrap();
    let mut handles = Vec::new();
    for i in 0..8 {
        let b = b.clone();
        let etag = etag.clone();
        handles.push(tokio::spawn(async move {
            b.put_with(
                "counter",
                format!("{i}"),
                &PutOptions::default().mode(WriteMode::IfMatch(etag)),
            )
            .await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::PreconditionFailed),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn file_stale_sidecar_is_ignored_after_foreign_write() {
    let d = tempfile::tempdir().unwrap();
    let b = file_bucket(&d).await;
    b.put_with("k", "v1", &PutOptions::default().content_type("text/a"))
        .await
        .unwrap();
    // Another tool replaces the data file directly.
    let root = d.path().join("bucket");
    std::fs::write(root.join("k.tmp"), "other").unwrap();
    std::fs::rename(root.join("k.tmp"), root.join("k")).unwrap();
    let h = b.head("k").await.unwrap();
    assert_eq!(h.content_type, None);
    assert_eq!(h.size, 5);
}

#[cfg(unix)]
#[tokio::test]
async fn file_symlink_loops_do_not_hang_listing() {
    let d = tempfile::tempdir().unwrap();
    let b = file_bucket(&d).await;
    b.put("dir/a", "x").await.unwrap();
    let root = d.path().join("bucket");
    std::os::unix::fs::symlink(root.join("dir"), root.join("dir/loop")).unwrap();
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert!(keys.contains(&"dir/a".to_string()), "{keys:?}");
    assert!(keys.len() <= 2, "{keys:?}");
}

/// Helper for `file_if_match_across_processes` (runs in a child process): tries one
/// if-match write per round and prints how many it won.
#[tokio::test]
#[ignore]
async fn helper_if_match_writer() {
    let Ok(root) = std::env::var("GUREUM_TEST_ROOT") else {
        return;
    };
    let b = gureum_local::storage::open_file(&root).unwrap();
    let mut won = 0;
    for _ in 0..50 {
        let Ok(h) = b.head("counter").await else {
            continue;
        };
        let n: u64 = String::from_utf8_lossy(&b.get("counter").await.unwrap())
            .parse()
            .unwrap_or(0);
        let r = b
            .put_with(
                "counter",
                format!("{}", n + 1),
                &PutOptions::default().mode(WriteMode::IfMatch(h.etag.unwrap())),
            )
            .await;
        match r {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::PreconditionFailed, "{e}"),
        }
    }
    println!("WON {won}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_if_match_across_processes() {
    // Two processes increment a counter with read + if-match write; no increment is lost.
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("bucket");
    let b = gureum_local::storage::open_file(&root).unwrap();
    b.put("counter", "0").await.unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "helper_if_match_writer",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("GUREUM_TEST_ROOT", &root)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut total = 0u64;
    for c in children {
        let out = c.wait_with_output().unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{s}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let won: u64 = s
            .lines()
            .find_map(|l| l.split_once("WON ").map(|(_, n)| n))
            .and_then(|n| n.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no result in {s}"));
        total += won;
    }
    let n: u64 = String::from_utf8_lossy(&b.get("counter").await.unwrap())
        .parse()
        .unwrap();
    assert_eq!(n, total, "every successful if-match write incremented once");
    assert!(total >= 50, "at least one process wins each round: {total}");
}
